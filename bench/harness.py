"""Shared benchmark harness: gunicorn servers, throw-away databases, load, results tables.

    from bench.harness import Request, Server, fresh_database, load, project_env, write_results, Row

    with fresh_database("sqlite") as url, Server("wsgi:app", env=project_env(url)) as srv:
        result = load(srv.url, [Request("GET", "/"), Request("GET", "/?page=2")], duration=10, database_url=url)
    write_results("discovery", [Row("rally list", "sqlite", result, target="p99 < 50 ms",
                                    passed=result.p99_ms < 50)])

Load: bench/loadgen.py (wrk or a Python generator, closed loop; ``open_loop`` on a schedule).

Self-check: ``python -m bench.harness --selftest`` (the project's /healthz, gunicorn 2 workers, 3 s).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime as dt
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.loadgen import LoadResult, Request, load, open_loop

__all__ = [
    "Client", "LoadResult", "Request", "Row", "Server", "create_schema", "drop_postgres", "engine_of",
    "fresh_database", "fresh_postgres", "fresh_sqlite", "load", "login_cookie", "machine", "open_loop", "project_env",
    "write_results",
]

ROOT = Path(__file__).resolve().parent.parent
#: Where tables go; BENCH_RESULTS_DIR redirects them (trial runs that must not overwrite real results).
RESULTS = Path(os.environ.get("BENCH_RESULTS_DIR") or ROOT / "bench" / "results")
#: gunicorn and flask come from the environment running the benchmark (a venv's bin/).
VENV_BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


# --- gunicorn -----------------------------------------------------------------------------------

def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: One key-encryption key per bench run: the set-up apps seal rally keys and ticket tokens with it, and the
#: served app (project_env) opens them with it.
BENCH_TICKET_KEK = secrets.token_urlsafe(32)


def project_env(database_url: str, **extra: str) -> dict[str, str]:
    """Environment for serving the project in a benchmark.

    Rate limits are off (the load comes from one IP), cookies work over plain HTTP,
    geocoding is offline, mail waits for the worker and logging is quiet.
    """
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-" + secrets.token_hex(16),
        "TICKET_KEK": BENCH_TICKET_KEK,
        "RATELIMIT_ENABLED": "0",
        "SESSION_COOKIE_SECURE": "0",
        "GEOCODER": "offline",
        "LOG_LEVEL": "WARNING",
        "BASE_URL": "http://127.0.0.1",
        "PREFERRED_URL_SCHEME": "http",
    }
    env.update(extra)
    return env


class Server:
    """A gunicorn master with N sync workers on a free 127.0.0.1 port (a context manager).

    ``Server("wsgi:app", workers=2, env=project_env(url))``; ``srv.url`` is the base URL.
    Startup waits until `ready_path` answers with any HTTP status; a failed start raises
    with the tail of gunicorn's log.
    """

    def __init__(self, app: str = "wsgi:app", *, workers: int = 2, env: dict[str, str] | None = None,
                 ready_path: str = "/", timeout: float = 60.0, extra_args: Sequence[str] = ()):
        self.app, self.workers, self.env = app, workers, dict(env or {})
        self.ready_path, self.timeout, self.extra_args = ready_path, timeout, list(extra_args)
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:41234."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        """Start gunicorn and wait until it answers."""
        _stop_servers_on_exit()
        self.port = free_port()
        fd, log = tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")
        os.close(fd)
        self.log_path = Path(log)
        env = {**os.environ, **self.env}
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
        cmd = [str(VENV_BIN / "gunicorn"), "-w", str(self.workers), "-k", "sync", "-b", f"127.0.0.1:{self.port}",
               "--chdir", str(ROOT), "--timeout", "60", "--no-control-socket", "--log-level", "warning",
               *self.extra_args, self.app]
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        _live.add(self)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}):\n{self.log_tail()}")
            if self._answers():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn not ready after {self.timeout}s:\n{self.log_tail()}")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + self.ready_path, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # any HTTP status means a worker is serving
        except OSError:
            return False

    def stop(self) -> None:
        """Stop gunicorn gracefully (SIGTERM to the master), then kill it if it lingers."""
        _live.discard(self)
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: only gunicorn and its workers
            self.proc.wait(5)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of gunicorn's output."""
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        if self.log_path and exc[0] is None:
            self.log_path.unlink(missing_ok=True)


_live: set[Server] = set()


def _stop_servers_on_exit() -> None:
    """Never leave gunicorn behind: stop live servers at exit, and turn SIGTERM (run_all's timeout) into an exit.

    gunicorn runs in its own session (so a Ctrl-C in the terminal reaches only the benchmark),
    hence nothing else would stop it if the benchmark died.
    """
    if getattr(_stop_servers_on_exit, "done", False):
        return
    _stop_servers_on_exit.done = True
    atexit.register(lambda: [srv.stop() for srv in list(_live)])
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


# --- setting up a load: log in, CSRF tokens ------------------------------------------------------

class Client:
    """A small cookie-keeping HTTP client to prepare a benchmark (log in, read CSRF tokens); not for load."""

    def __init__(self, base_url: str):
        import http.cookiejar

        if urlsplit(base_url).hostname != "127.0.0.1":
            raise ValueError("benchmarks only talk to 127.0.0.1")
        self.base_url = base_url.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.no_redirects = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())
        self.last_text = ""
        self.last_url = ""  # where the last request ended, after redirects
        self.last_location = ""  # the Location of the last response (when not followed)

    def request(self, method: str, path: str, data: dict | None = None, *, follow: bool = True) -> tuple[int, str]:
        """Send one request (form-encoded data); follow redirects unless told not to; return (status, body text)."""
        from urllib.parse import urlencode

        body = urlencode(data or {}).encode() if data is not None else None
        req = urllib.request.Request(self.base_url + path, data=body, method=method)
        try:
            with (self.opener if follow else self.no_redirects).open(req, timeout=30) as resp:
                status, text = resp.status, resp.read().decode("utf-8", "replace")
                self.last_url = resp.geturl()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode("utf-8", "replace")
            self.last_location = exc.headers.get("Location", "")
        self.last_text = text
        return status, text

    def get(self, path: str) -> tuple[int, str]:
        """GET a page."""
        return self.request("GET", path)

    def get_bytes(self, path: str) -> tuple[int, bytes]:
        """GET a binary resource (an image)."""
        try:
            with self.opener.open(self.base_url + path, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def csrf_token(self, path: str | None = None) -> str:
        """The csrf_token of the form on `path` (or on the last page fetched)."""
        import re

        text = self.get(path)[1] if path else self.last_text
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text) or re.search(
            r'<meta name="csrf-token" content="([^"]+)"', text)
        if not match:
            raise RuntimeError(f"no CSRF token on {path or 'the last page'}")
        return match.group(1)

    def post_form(self, path: str, data: dict, *, form_page: str | None = None) -> tuple[int, str]:
        """POST a form with the CSRF token taken from form_page (default: the same path)."""
        token = self.csrf_token(form_page or path)
        return self.request("POST", path, {**data, "csrf_token": token})

    def cookie_header(self) -> str:
        """The cookies as one Cookie header value, to pass to load(headers=...)."""
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand redirects back to the caller (as HTTPError) instead of following them."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: PLR0913  urllib's signature
        return None


def login_cookie(base_url: str, email: str, password: str) -> str:
    """Log in through /auth/login and return the Cookie header for load(headers={"Cookie": ...})."""
    client = Client(base_url)
    status, text = client.post_form("/auth/login", {"email": email, "password": password})
    if status >= 400 or 'name="password"' in text:
        raise RuntimeError(f"login as {email} failed (HTTP {status})")
    return client.cookie_header()


# --- databases ----------------------------------------------------------------------------------

def _pg_connect(url: str):
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def fresh_postgres(prefix: str = "bench") -> str:
    """Create an empty PostgreSQL database on 127.0.0.1:5432 and return its URL."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with _pg_connect(PG_ADMIN_URL) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(PG_ADMIN_URL)
    return urlunsplit(parts._replace(path="/" + name))


def drop_postgres(url: str) -> None:
    """Drop a database made by fresh_postgres (disconnecting leftover sessions)."""
    name = urlsplit(url).path.lstrip("/")
    if not name.startswith("bench"):
        raise ValueError(f"refusing to drop {name!r}: not a bench database")
    with _pg_connect(PG_ADMIN_URL) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_sqlite(directory: str | None = None) -> str:
    """A new, empty SQLite file URL (in a temp dir unless given)."""
    fd, path = tempfile.mkstemp(prefix="bench-", suffix=".sqlite3", dir=directory)
    os.close(fd)
    os.unlink(path)  # SQLite creates it; an empty file would be fine too
    return f"sqlite:///{path}"


def create_schema(database_url: str, method: str = "create_all") -> None:
    """Create the project's tables: ``db.create_all()`` (default, matches the models now) or ``flask db upgrade``."""
    env = {**os.environ, **project_env(database_url)}
    if method == "upgrade":
        subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        return
    code = "from rallies import create_app; from rallies.extensions import db; app = create_app()\n" \
           "with app.app_context(): db.create_all()"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)


@contextlib.contextmanager
def fresh_database(engine: str, *, schema: str | None = "create_all") -> Iterator[str]:
    """Yield the URL of a throw-away database ("sqlite" or "postgresql") with the project schema; drop it after.

    schema=None leaves it empty; "upgrade" runs the migrations instead of create_all.
    """
    if engine == "sqlite":
        url = fresh_sqlite()
    elif engine in ("postgresql", "postgres"):
        url = fresh_postgres()
    else:
        raise ValueError(f"unknown engine {engine!r}")
    try:
        if schema:
            create_schema(url, schema)
        yield url
    finally:
        if url.startswith("sqlite:///"):
            for suffix in ("", "-wal", "-shm"):
                Path(url[len("sqlite:///"):] + suffix).unlink(missing_ok=True)
        else:
            drop_postgres(url)


def engine_of(url: str) -> str:
    """'sqlite' or 'postgresql' for a database URL."""
    return "sqlite" if url.startswith("sqlite") else "postgresql"


# --- results ------------------------------------------------------------------------------------

def machine() -> str:
    """Short machine description for results tables."""
    return f"{os.cpu_count()} cores, Python {platform.python_version()}"


@dataclass
class Row:
    """One line of a results table: a measured case against its target."""

    case: str
    engine: str  # "sqlite", "postgresql" or "-"
    result: LoadResult | None = None
    target: str = ""
    passed: bool | None = None  # None = no target (informational)
    figures: str = ""  # free text for non-load measurements (e.g. "double check-ins: 0")

    def cells(self, date: str, mach: str) -> list[str]:
        r = self.result
        load_cells = ([f"{r.rps:,.0f}", f"{r.p50_ms:.1f}", f"{r.p95_ms:.1f}", f"{r.p99_ms:.1f}", r.status_text()]
                      if r else ["", "", "", "", ""])
        noise = f"{r.foreign_cpu_pct:.0f}" if r and r.foreign_cpu_pct is not None else ""
        cpu = f"{r.server_cpu_ms:.2f}" if r and r.server_cpu_ms is not None else ""
        if r and r.db_cpu_ms is not None:
            cpu += f" (database {r.db_cpu_ms:.2f})"
        verdict = {True: "PASS", False: "FAIL", None: "-"}[self.passed]
        return [date, mach, self.engine, self.case, *load_cells, cpu, self.figures, self.target, verdict, noise]


HEADER = ["date", "machine", "engine", "case", "req/s", "p50 ms", "p95 ms", "p99 ms", "statuses", "server CPU ms/req",
          "other figures", "target", "result", "others' CPU %"]


def results_table(rows: Sequence[Row], *, date: str | None = None) -> str:
    """The markdown table for these rows."""
    date = date or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    mach = machine()
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        lines.append("| " + " | ".join(c.replace("|", "/") for c in row.cells(date, mach)) + " |")
    return "\n".join(lines)


def write_results(name: str, rows: Sequence[Row], *, title: str = "", notes: str = "") -> Path:
    """Write bench/results/<name>.md (title, table, notes), print it, and return the path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = f"# {title or name}\n\n{results_table(rows)}\n"
    if notes:
        text += f"\n{notes.strip()}\n"
    if any(r.result and r.result.foreign_cpu_pct is not None for r in rows):
        text += ("\nOthers' CPU %: CPU used during each load run by processes other than this benchmark's "
                 "(gunicorn, wrk, helpers) and PostgreSQL, as % of the whole machine. Above about 10 % the "
                 "latencies understate what this machine can do. Server CPU ms/req: CPU the gunicorn processes "
                 "(SQLite work included) and, on PostgreSQL, the backends of the bench database spent per "
                 "response, read from /proc (bench/loadgen.py CpuMeter); it moves far less with other load than "
                 "req/s or latency.\n")
    path = RESULTS / f"{name}.md"
    path.write_text(text)
    print(text)
    return path


# --- self-check ---------------------------------------------------------------------------------

def selftest(duration: float = 3.0) -> bool:
    """Serve the project's /healthz with 2 gunicorn workers, load it for `duration` s, write harness_selftest.md."""
    rows = []
    with fresh_database("sqlite") as url, Server("wsgi:app", workers=2, env=project_env(url),
                                                  ready_path="/healthz") as srv:
        for engine in ("wrk", "python"):
            if engine == "wrk" and not _has_wrk():
                continue
            res = load(srv.url, "/healthz", duration=duration, connections=8, engine=engine)
            ok = res.requests > 0 and res.count(200) == res.requests and res.socket_errors == 0
            rows.append(Row(f"/healthz ({engine} load, 8 clients, gunicorn 2 sync)", "sqlite", res,
                            target="every response 200, no socket errors", passed=ok))
        res = open_loop(srv.url, "/healthz", rate=100, duration=duration, connections=8)
        rows.append(Row("/healthz (open loop, 100 req/s)", "sqlite", res, target="every response 200",
                        passed=res.requests > 0 and res.count(200) == res.requests and res.socket_errors == 0))
    write_results("harness_selftest", rows, title="Harness self-check",
                  notes="Checks that gunicorn starts and stops, the load generators work and results are written. "
                        "The figures are not a benchmark: 3 s runs, no warm-up.")
    return all(r.passed for r in rows)


def _has_wrk() -> bool:
    import shutil

    return shutil.which("wrk") is not None


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: --selftest."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--selftest", action="store_true", help="run the harness self-check")
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args(argv)
    if not args.selftest:
        parser.print_help()
        return 2
    return 0 if selftest(args.duration) else 1


if __name__ == "__main__":
    sys.exit(main())
