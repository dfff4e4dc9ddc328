"""Load generators for the benchmarks: wrk (preferred) or a Python fallback.

Both send a list of requests (method, path, body) to one 127.0.0.1 server from
`connections` keep-alive clients, bounded by time and optionally by count, and
return the same ``LoadResult``. Only loopback targets are accepted: a benchmark
must never load someone else's server.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
LUA_SCRIPT = HERE / "wrk_requests.lua"


@dataclass(frozen=True)
class Request:
    """One HTTP request to replay: method, path (with query string) and optional body."""

    method: str = "GET"
    path: str = "/"
    body: str = ""


@dataclass
class LoadResult:
    """What one load run measured."""

    engine: str  # "wrk" or "python"
    requests: int  # responses received
    duration_s: float  # wall time the responses span
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int] = field(default_factory=dict)
    socket_errors: int = 0
    stopped_early: bool = False  # ran out of requests (count bound or "stop" mode) before the time bound
    wrapped: int = 0  # times a client restarted the request list ("wrap" mode): single-use requests were reused
    #: CPU used during the run by processes that are neither ours (this process's tree: gunicorn,
    #: wrk) nor PostgreSQL, as % of the whole machine: other work that lowers the figures.
    foreign_cpu_pct: float | None = None
    #: CPU time the served app (gunicorn master + workers) spent per response, in ms. Much less
    #: sensitive to other load than req/s: compare Rallies and the baseline on it when the machine is busy.
    #: Excludes a PostgreSQL server's own work; 10 ms clock ticks, so use runs of a few thousand requests.
    server_cpu_ms: float | None = None

    def count(self, *codes: int) -> int:
        """Responses with any of these status codes."""
        return sum(self.statuses.get(c, 0) for c in codes)

    @property
    def errors(self) -> int:
        """5xx responses plus socket errors (timeouts, resets)."""
        return sum(n for c, n in self.statuses.items() if c >= 500) + self.socket_errors

    def status_text(self) -> str:
        """Status counts as '200x1234 404x5'."""
        text = " ".join(f"{c}x{n}" for c, n in sorted(self.statuses.items()))
        if self.socket_errors:
            text += f" sockerr x{self.socket_errors}"
        return text or "none"

    def summary(self) -> str:
        """One line for logs."""
        cpu = f", app CPU {self.server_cpu_ms:.2f} ms/req" if self.server_cpu_ms is not None else ""
        return (f"{self.rps:,.0f} req/s, p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f} ms, "
                f"p99 {self.p99_ms:.1f} ms{cpu} ({self.requests} responses: {self.status_text()}; {self.engine})")


def _loopback(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname != "127.0.0.1" or not parts.port:
        raise ValueError(f"benchmarks only load http://127.0.0.1:PORT, not {url!r}")
    return parts.hostname, parts.port


def _as_requests(requests: Request | str | Iterable[Request | str]) -> list[Request]:
    if isinstance(requests, (Request, str)):
        requests = [requests]
    out = [r if isinstance(r, Request) else Request("GET", r) for r in requests]
    if not out:
        raise ValueError("no requests to send")
    return out


def load(base_url: str, requests: Request | str | Iterable[Request | str], *, duration: float = 10.0,
         connections: int = 8, max_requests: int = 0, on_exhaust: str = "wrap",
         headers: dict[str, str] | None = None, engine: str = "auto", timeout: float = 10.0) -> LoadResult:
    """Send `requests` (cycled per client) to base_url for `duration` seconds with `connections` clients.

    max_requests > 0 stops after that many responses. on_exhaust="stop" sends each
    request at most once (single-use tickets); "wrap" replays the list (``result.wrapped``
    says whether it had to). engine is "wrk", "python" or "auto": wrk when installed
    and the run is only time-bounded, else Python (see wrk_requests.lua for why).
    """
    _loopback(base_url)
    reqs = _as_requests(requests)
    if on_exhaust not in ("wrap", "stop"):
        raise ValueError("on_exhaust must be 'wrap' or 'stop'")
    bounded = max_requests > 0 or on_exhaust == "stop"
    meter = CpuMeter()
    if engine == "auto":
        engine = "wrk" if shutil.which("wrk") and not bounded else "python"
    if engine == "wrk":
        if bounded:
            raise ValueError("wrk runs are time-bounded only: use engine='python' for max_requests / 'stop'")
        result = run_wrk(base_url, reqs, duration=duration, connections=connections, headers=headers or {},
                         timeout=timeout)
    else:
        result = run_python(base_url, reqs, duration=duration, connections=connections, max_requests=max_requests,
                            on_exhaust=on_exhaust, headers=headers or {}, timeout=timeout)
    result.foreign_cpu_pct, server_s = meter.measure()
    if server_s is not None and result.requests:
        result.server_cpu_ms = 1000.0 * server_s / result.requests
    return result


class CpuMeter:
    """Measures CPU used by other people's processes between its creation and foreign_pct().

    Ours = this process and its descendants (gunicorn, wrk); PostgreSQL backends are
    left out too (they may serve us). Processes that start and end in between are missed.
    """

    def __init__(self):
        self.tick = os.sysconf("SC_CLK_TCK")
        self.before = self._snapshot()
        self.t0 = time.monotonic()

    @staticmethod
    def _snapshot() -> dict[int, tuple[int, int, str]]:
        procs = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            comm = stat[stat.find("(") + 1:stat.rfind(")")]
            fields = stat[stat.rfind(")") + 2:].split()
            procs[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]), comm)
        return procs

    def measure(self) -> tuple[float | None, float | None]:
        """(others' CPU as % of the machine, CPU seconds used by our servers) since creation.

        Our servers = descendants of this process except wrk (gunicorn masters and workers,
        SQLite work included; a PostgreSQL server's own work is not). None where /proc is missing.
        """
        try:
            after = self._snapshot()
        except OSError:
            return None, None
        elapsed = time.monotonic() - self.t0
        me = os.getpid()
        ours = {me}
        for _ in range(10):  # grow the tree a level at a time (gunicorn -> workers)
            ours |= {pid for pid, (ppid, _, _) in after.items() if ppid in ours}
        foreign = server = 0
        for pid, (_, ticks, comm) in after.items():
            used = ticks - self.before.get(pid, (0, 0, ""))[1]
            if pid not in ours:
                foreign += 0 if comm.startswith("postgres") else used
            elif pid != me and comm != "wrk":
                server += used
        cores = os.cpu_count() or 1
        return 100.0 * foreign / self.tick / max(elapsed, 1e-6) / cores, server / self.tick


def run_wrk(base_url: str, reqs: Sequence[Request], *, duration: float, connections: int,
            headers: dict[str, str], timeout: float) -> LoadResult:
    """Run wrk with wrk_requests.lua for `duration` seconds and parse its BENCHJSON line."""
    _loopback(base_url)
    threads = max(1, min(2, connections, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        req_file = Path(tmp) / "requests.tsv"
        with req_file.open("w") as fh:
            for r in reqs:
                if any(ch in r.path + r.body for ch in "\t\n\r"):
                    raise ValueError("wrk requests cannot contain tabs or newlines (use engine='python')")
                fh.write(f"{r.method.upper()}\t{r.path}\t{r.body}\n")
        cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
               f"--timeout={max(1, round(timeout))}s", "-s", str(LUA_SCRIPT)]
        for name, value in headers.items():
            cmd += ["-H", f"{name}: {value}"]
        cmd += [base_url, "--", str(req_file), str(threads)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + timeout + 60)
    drain(base_url, connections, timeout)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    data = json.loads(line[len("BENCHJSON "):])
    span = data["wrk_duration_s"]
    responses = data["responses"]
    return LoadResult(
        engine="wrk", requests=responses, duration_s=span, rps=responses / span if span else 0.0,
        p50_ms=data["p50_ms"], p95_ms=data["p95_ms"], p99_ms=data["p99_ms"], max_ms=data["max_ms"],
        statuses={int(k): v for k, v in data["statuses"].items()}, socket_errors=data["socket_errors"],
        wrapped=data["wrapped"],
    )


def drain(base_url: str, connections: int, timeout: float = 10.0) -> None:
    """Wait until the server has finished the requests wrk left in flight.

    wrk exits with up to `connections` requests sent but unanswered; gunicorn still
    runs them (a check-in would redeem a ticket after the run "ended", and the next
    run would see it as already used). Accepts are first in, first out, so once
    `connections` fresh requests queued behind them are answered, the old ones are done.
    """
    host, port = _loopback(base_url)

    def probe() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn.request("GET", "/__bench_drain__")
            conn.getresponse().read()
        conn.close()

    probes = [threading.Thread(target=probe) for _ in range(max(2, connections))]
    for t in probes:
        t.start()
    for t in probes:
        t.join(timeout + 1)
    time.sleep(0.05)  # the last old request may finish just after the last probe


def run_python(base_url: str, reqs: Sequence[Request], *, duration: float, connections: int, max_requests: int,
               on_exhaust: str, headers: dict[str, str], timeout: float) -> LoadResult:
    """Threads with keep-alive http.client connections; same semantics as run_wrk."""
    host, port = _loopback(base_url)
    ticket = itertools.count()  # next() on a count is atomic under the GIL
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    socket_errors = 0
    stopped = threading.Event()
    exhausted = False
    marks: list[float] = []

    def next_request() -> Request | None:
        nonlocal exhausted
        n = next(ticket)
        if (max_requests and n >= max_requests) or (on_exhaust == "stop" and n >= len(reqs)):
            exhausted = True
            return None
        return reqs[n % len(reqs)]

    def wraps() -> int:
        sent = min(next(ticket), max_requests or 1 << 62)
        return max(0, (sent - 1) // len(reqs)) if on_exhaust == "wrap" else 0

    def client() -> None:
        nonlocal socket_errors
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        mine: list[float] = []
        codes: Counter[int] = Counter()
        errs = 0
        while not stopped.is_set():
            r = next_request()
            if r is None:
                break
            hdrs = dict(headers)
            body = r.body.encode() if r.body else None
            start = time.perf_counter()
            try:
                conn.request(r.method.upper(), r.path, body=body, headers=hdrs)
                resp = conn.getresponse()
                resp.read()
            except (OSError, http.client.HTTPException):
                errs += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
                continue
            mine.append(time.perf_counter() - start)
            codes[resp.status] += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            statuses.update(codes)
            socket_errors += errs
            marks.append(time.perf_counter())

    workers = [threading.Thread(target=client, daemon=True) for _ in range(connections)]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    deadline = t0 + duration
    for w in workers:
        w.join(max(0.0, deadline - time.perf_counter()))
    stopped.set()
    for w in workers:
        w.join(timeout + 5)
    span = (max(marks) if marks else time.perf_counter()) - t0
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    n = len(latencies)
    return LoadResult(
        engine="python", requests=n, duration_s=span, rps=n / span if span else 0.0,
        p50_ms=pct(50), p95_ms=pct(95), p99_ms=pct(99), max_ms=latencies[-1] * 1000 if latencies else 0.0,
        statuses=dict(statuses), socket_errors=socket_errors, stopped_early=exhausted, wrapped=wraps(),
    )
