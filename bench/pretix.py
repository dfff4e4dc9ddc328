"""pretix's check-in, measured in the same run: runs the shared tooling and reads its figures.

The tooling lives outside the project, at ``../shared/bench/pretix/`` from the project root
(``PRETIX_BENCH_DIR`` overrides): ``pretix_setup.sh postgres`` installs pretix and seeds 20,000
tickets (once, about 10 minutes); ``run_bench.sh pretix_postgres DURATION`` serves pretix with
gunicorn (2 sync workers) and loads ``checkinrpc/redeem`` with wrk (8 connections, a fresh ticket
per request), wrapped in its ``cpuwatch.py``. Nothing of it is copied here: this module calls it
and parses its log.

CPU per redeem = cpuwatch's "ours" CPU (pretix's gunicorn tree, pretix's private PostgreSQL
cluster, wrk and the watcher itself) x elapsed / requests. wrk and the watcher are a few % of it
at pretix's rates, so the figure leans slightly in Rallies' favour; the budget has a wide margin.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOL_DIR = Path(os.environ.get("PRETIX_BENCH_DIR") or ROOT.parent / "shared" / "bench" / "pretix")
#: Where pretix_setup.sh puts pretix (run_bench.sh reads the same fixed path).
ANCHOR_DIR = Path("/tmp/anchors/pretix")


@dataclass
class PretixRun:
    """One fresh-redeem wrk run of pretix (RESULT and NOISE lines of run_bench.sh)."""

    requests: int
    elapsed_s: float
    rps: float
    p50_ms: float
    p99_ms: float
    ok: int
    other: int
    ours_cpu_pct: float  # pretix + its PostgreSQL (+ wrk, watcher), % of one core
    foreign_cpu_pct: float

    @property
    def cpu_ms_per_redeem(self) -> float:
        """Server CPU per redeem request, in ms."""
        return self.ours_cpu_pct / 100 * self.elapsed_s * 1000 / self.requests if self.requests else float("nan")


def unavailable() -> str | None:
    """Why pretix cannot be measured here (None when it can)."""
    if not (TOOL_DIR / "run_bench.sh").exists():
        return f"no pretix tooling at {TOOL_DIR} (set PRETIX_BENCH_DIR)"
    if not shutil.which("wrk"):
        return "wrk is not installed (apt-get install -y wrk)"
    cfg = ANCHOR_DIR / "postgres"
    if not (ANCHOR_DIR / "venv" / "bin" / "gunicorn").exists() or not (cfg / "token.txt").exists():
        return f"pretix is not set up in {ANCHOR_DIR} (bash {TOOL_DIR}/pretix_setup.sh postgres)"
    pid_file = ANCHOR_DIR / "pg" / "data" / "postmaster.pid"
    if not pid_file.exists() or not Path(f"/proc/{pid_file.read_text().split()[0]}").exists():
        return f"pretix's PostgreSQL is not running (bash {TOOL_DIR}/pretix_setup.sh postgres starts it)"
    return None


def _kv(line: str) -> dict[str, str]:
    return dict(re.findall(r"(\w+)=([^\s]+)", line))


def measure(duration: float = 25.0, connections: int = 8) -> tuple[list[PretixRun], str]:
    """Run pretix's fresh-redeem load twice (run_bench.sh, ONLY=fresh); returns the runs and the log path."""
    env = {**os.environ, "ONLY": "fresh", "CONNS": str(connections)}
    proc = subprocess.run(["bash", str(TOOL_DIR / "run_bench.sh"), "pretix_postgres", str(max(1, round(duration)))],
                          cwd=TOOL_DIR, env=env, capture_output=True, text=True, timeout=duration * 4 + 600)
    runs, step, pending = [], "", None
    for line in proc.stdout.splitlines():
        if line.startswith("### "):
            step, pending = line, None
        elif line.startswith("RESULT") and "fresh redeem" in step:
            pending = _kv(line)
        elif line.startswith("NOISE") and pending is not None:
            n = _kv(line)
            runs.append(PretixRun(
                requests=int(pending["requests"]), elapsed_s=float(n["elapsed_s"]), rps=float(pending["rps"]),
                p50_ms=float(pending["p50_ms"]), p99_ms=float(pending["p99_ms"]), ok=int(pending["ok"]),
                other=int(pending["other"]) + int(pending["sock_err"]), ours_cpu_pct=float(n["ours_cpu_pct"]),
                foreign_cpu_pct=float(n["foreign_cpu_pct"])))
            pending = None
    log = next((ln.rsplit("log: ", 1)[1] for ln in proc.stdout.splitlines() if "log: " in ln), "")
    if not runs:
        raise RuntimeError(f"run_bench.sh gave no fresh-redeem figures (exit {proc.returncode}):\n"
                           f"{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")
    return runs, log
