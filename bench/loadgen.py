"""Load generators for the benchmarks: closed loop (wrk, or Python threads) and open loop.

``load`` sends a list of requests (method, path, body) to one 127.0.0.1 server from
`connections` keep-alive clients, each sending its next request when the last is answered,
bounded by time and optionally by count. ``open_loop`` sends them on a fixed schedule (a rate)
whatever the answers, and times each from its scheduled send. Both return a ``LoadResult`` with
the server's CPU per request (``CpuMeter``). Only loopback targets are accepted: a benchmark
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
    #: Server CPU per response, in ms: the served app (gunicorn master + workers, helpers this
    #: process started) plus, when load() got a PostgreSQL database_url, that database's backends
    #: (CpuMeter). Much less sensitive to other load than req/s; 10 ms clock ticks, so use runs
    #: of a few hundred requests or more.
    server_cpu_ms: float | None = None
    db_cpu_ms: float | None = None  # the PostgreSQL backends' part of server_cpu_ms
    offered_rps: float | None = None  # open loop: the scheduled rate

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
        cpu = f", server CPU {self.server_cpu_ms:.2f} ms/req" if self.server_cpu_ms is not None else ""
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
         headers: dict[str, str] | None = None, engine: str = "auto", timeout: float = 10.0,
         database_url: str | None = None) -> LoadResult:
    """Send `requests` (cycled per client) to base_url for `duration` seconds with `connections` clients.

    max_requests > 0 stops after that many responses. on_exhaust="stop" sends each
    request at most once (single-use tickets); "wrap" replays the list (``result.wrapped``
    says whether it had to). engine is "wrk", "python" or "auto": wrk when installed
    and the run is only time-bounded, else Python (see wrk_requests.lua for why).
    database_url (PostgreSQL) adds the CPU of that database's backends to ``server_cpu_ms``.
    """
    _loopback(base_url)
    reqs = _as_requests(requests)
    if on_exhaust not in ("wrap", "stop"):
        raise ValueError("on_exhaust must be 'wrap' or 'stop'")
    bounded = max_requests > 0 or on_exhaust == "stop"
    meter = CpuMeter(database_url)
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
        if meter.db_s is not None:
            result.db_cpu_ms = 1000.0 * meter.db_s / result.requests
    return result


class CpuMeter:
    """Server CPU and others' CPU between its creation and measure(), read from /proc.

    Server = this process's descendants except wrk (gunicorn masters and workers, SQLite work
    included, and any helper of ours the benchmark started: the outbox worker), plus, when
    `database_url` is PostgreSQL, the backends whose pg_stat_activity.datname is that database
    (sampled every 0.5 s, so backends that connect during the run count from their first tick).
    Not counted: this process (the Python load generator), wrk, PostgreSQL's shared processes
    (WAL writer, checkpointer), which serve every database on the server, and the `outside`
    processes: stand-ins for services outside our server, such as the SMTP sink standing for the
    mail provider (their CPU is kept apart in ``outside_s``).
    Others = every other process except PostgreSQL's, as % of the machine.
    """

    def __init__(self, database_url: str | None = None, *, outside: tuple[int, ...] = ()):
        self.tick = os.sysconf("SC_CLK_TCK")
        self.outside = frozenset(outside)
        self.before = self._snapshot()
        self.t0 = time.monotonic()
        self.pg: PgBackends | None = PgBackends(database_url) if database_url and database_url.startswith(
            "postgres") else None
        self.db_s: float | None = None  # after measure(): the PostgreSQL backends' CPU seconds
        self.outside_s: float | None = None  # after measure(): the outside processes' CPU seconds

    @staticmethod
    def _snapshot() -> dict[int, tuple[int, int, str]]:
        procs = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            stat = _read_stat(int(entry))
            if stat:
                procs[int(entry)] = stat
        return procs

    def measure(self) -> tuple[float | None, float | None]:
        """(others' CPU as % of the machine, server CPU seconds) since creation; None where /proc is missing."""
        pg_ticks = self.pg.stop() if self.pg else 0
        if self.pg:
            self.db_s = pg_ticks / self.tick
        try:
            after = self._snapshot()
        except OSError:
            return None, None
        elapsed = time.monotonic() - self.t0
        me = os.getpid()
        ours = {me}
        for _ in range(10):  # grow the tree a level at a time (gunicorn -> workers)
            ours |= {pid for pid, (ppid, _, _) in after.items() if ppid in ours}
        outside = set(self.outside)
        for _ in range(10):  # an outside process's children are outside too
            outside |= {pid for pid, (ppid, _, _) in after.items() if ppid in outside}
        foreign = server = elsewhere = 0
        for pid, (_, ticks, comm) in after.items():
            used = ticks - self.before.get(pid, (0, 0, ""))[1]
            if pid in outside:
                elsewhere += used
            elif pid not in ours:
                foreign += 0 if comm.startswith("postgres") else used
            elif pid != me and comm != "wrk":
                server += used
        self.outside_s = elsewhere / self.tick
        cores = os.cpu_count() or 1
        return 100.0 * foreign / self.tick / max(elapsed, 1e-6) / cores, (server + pg_ticks) / self.tick


def _read_stat(pid: int) -> tuple[int, int, str] | None:
    """(ppid, utime + stime in ticks, comm) of a process, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = stat[stat.find("(") + 1:stat.rfind(")")]
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), comm


class PgBackends:
    """CPU ticks of the PostgreSQL backends serving one database, sampled in a thread until stop().

    A backend present at the start counts from its ticks then; one that connects later counts
    whole (its connection set-up served us). One that exits between samples loses at most 0.5 s.
    The server must run on this machine (its processes are read from /proc).
    """

    def __init__(self, database_url: str, interval: float = 0.5):
        import psycopg

        parts = urlsplit(database_url)
        self.dbname = parts.path.lstrip("/")
        admin = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        self.conn = psycopg.connect(admin, autocommit=True)
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.interval = interval
        self.done = threading.Event()
        self._sample(initial=True)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _sample(self, initial: bool = False) -> None:
        pids = [r[0] for r in self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.dbname,)).fetchall()]
        for pid in pids:
            stat = _read_stat(pid)
            if stat is None:
                continue
            self.first.setdefault(pid, stat[1] if initial else 0)
            self.last[pid] = stat[1]

    def _run(self) -> None:
        while not self.done.wait(self.interval):
            self._sample()

    def stop(self) -> int:
        """Stop sampling; the backends' CPU ticks since the start."""
        self.done.set()
        self.thread.join(5)
        self._sample()
        self.conn.close()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


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
            start = time.perf_counter()
            conn, status = _send(conn, r, headers, host, port, timeout)
            if status is None:
                errs += 1
                continue
            mine.append(time.perf_counter() - start)
            codes[status] += 1
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


def open_loop(base_url: str, requests: Request | str | Iterable[Request | str], *, rate: float, duration: float,
              connections: int = 64, headers: dict[str, str] | None = None, timeout: float = 10.0,
              database_url: str | None = None) -> LoadResult:
    """Send `rate` requests per second for `duration` seconds on a fixed schedule, whatever the answers.

    Request i is due at start + i / rate and each latency runs from its due time, not from when a
    connection was free (no coordinated omission: a stalled server shows as latency, not as fewer
    requests). `connections` threads take due requests from a queue; the request list is used in
    order and cycled if shorter than rate x duration (``wrapped``). Requests still queued
    `duration` + `timeout` + 30 s after the schedule ended are dropped and counted as socket errors
    (a server far slower than the rate). Server CPU as in load().
    """
    import queue

    host, port = _loopback(base_url)
    reqs = _as_requests(requests)
    total = max(1, int(rate * duration))
    meter = CpuMeter(database_url)
    due_q: queue.SimpleQueue = queue.SimpleQueue()
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = [0]
    ends: list[float] = []
    give_up = threading.Event()
    start = time.perf_counter() + 0.1

    def schedule() -> None:
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            due_q.put((due, reqs[i % len(reqs)]))
        for _ in range(connections):
            due_q.put(None)

    def client() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        mine: list[float] = []
        codes: Counter[int] = Counter()
        errs = 0
        while (item := due_q.get()) is not None:
            due, r = item
            if give_up.is_set():
                errs += 1
                continue
            conn, status = _send(conn, r, headers or {}, host, port, timeout)
            if status is None:
                errs += 1
                continue
            mine.append(time.perf_counter() - due)
            codes[status] += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            statuses.update(codes)
            errors[0] += errs
            ends.append(time.perf_counter())

    threads = [threading.Thread(target=client, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    scheduler = threading.Thread(target=schedule, daemon=True)
    scheduler.start()
    scheduler.join()
    deadline = time.perf_counter() + duration + timeout + 30
    for t in threads:
        t.join(max(0.0, deadline - time.perf_counter()))
    give_up.set()
    for t in threads:
        t.join(timeout + 5)
    span = (max(ends) if ends else time.perf_counter()) - start
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000 if latencies else 0.0

    n = len(latencies)
    result = LoadResult(
        engine="open loop", requests=n, duration_s=span, rps=n / span if span > 0 else 0.0,
        p50_ms=pct(50), p95_ms=pct(95), p99_ms=pct(99), max_ms=latencies[-1] * 1000 if latencies else 0.0,
        statuses=dict(statuses), socket_errors=errors[0], wrapped=max(0, (total - 1) // len(reqs)),
        offered_rps=rate,
    )
    result.foreign_cpu_pct, server_s = meter.measure()
    if server_s is not None and n:
        result.server_cpu_ms = 1000.0 * server_s / n
        if meter.db_s is not None:
            result.db_cpu_ms = 1000.0 * meter.db_s / n
    return result


def _send(conn, r, headers: dict, host: str, port: int, timeout: float):
    """Send one request on a keep-alive connection: (connection to use next, status or None on a socket error)."""
    try:
        conn.request(r.method.upper(), r.path, body=r.body.encode() if r.body else None, headers=dict(headers))
        resp = conn.getresponse()
        resp.read()
    except (OSError, http.client.HTTPException):
        conn.close()
        return http.client.HTTPConnection(host, port, timeout=timeout), None
    return conn, resp.status
