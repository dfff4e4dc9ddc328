"""Where a sign-up's server CPU goes: each step in-process, with SQL statements counted and an optional profile.

    python -m bench.profile_signup --engine sqlite|postgresql [--signups 200] [--profile STEP] [--top 30]

The same steps as bench_signup's whole sign-up (form, POST, ticket page, QR PNG, the ticket email
through the outbox to a local SMTP sink), run through the Flask test client in this process on a
throw-away database, so there is no gunicorn, socket or access log in the figures. Per step: this
process's CPU (time.process_time), on PostgreSQL the bench database's backends' CPU (as in
bench_signup), the SMTP sink's CPU for the email, and SQL statements per request (an SQLAlchemy
``before_cursor_execute`` listener; pool pre-pings are counted apart). ``--profile STEP`` prints
cProfile's top functions for that step (form, post, ticket_page, qr, email). Not a benchmark of
record: a tool for finding where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.harness import BENCH_TICKET_KEK, ROOT, free_port, fresh_database
from bench.loadgen import PgBackends, _read_stat

STEPS = ("form", "post", "ticket_page", "qr", "email")


def _app(url: str, smtp_port: int):
    from config import Config
    from rallies import create_app

    return create_app(Config, SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=secrets.token_hex(16),
                      TICKET_KEK=BENCH_TICKET_KEK, RATELIMIT_ENABLED=False, SESSION_COOKIE_SECURE=False,
                      GEOCODER="offline", BASE_URL="http://127.0.0.1",
                      PREFERRED_URL_SCHEME="http", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_port, SMTP_STARTTLS=False,
                      LOG_LEVEL="WARNING")


class Person:
    """One supporter with its own test client."""

    def __init__(self, app, slug: str, i: int):
        self.client, self.slug, self.i, self.ticket, self.csrf = app.test_client(), slug, i, "", ""

    def form(self) -> None:
        resp = self.client.get(f"/r/{self.slug}/rsvp")
        assert resp.status_code == 200, resp.status_code
        self.csrf = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', resp.data).group(1).decode()

    def post(self) -> None:
        resp = self.client.post(f"/r/{self.slug}/rsvp", data={
            "csrf_token": self.csrf, "name": f"Viral Person {self.i}", "email": f"viral{self.i}@example.org",
            "phone": "", "postal_code": "60607", "guests": str(self.i % 3), "utm_source": "bench"})
        assert resp.status_code == 303, (resp.status_code, resp.data[:2000])
        self.ticket = re.search(r"/t/[A-Za-z0-9_-]+$", resp.headers["Location"]).group(0)

    def ticket_page(self) -> None:
        resp = self.client.get(self.ticket)
        assert resp.status_code == 200, resp.status_code

    def qr(self) -> None:
        resp = self.client.get(self.ticket + "/qr.png")
        assert resp.status_code == 200 and resp.data.startswith(b"\x89PNG"), resp.status_code


def _proc_ticks(pid: int) -> int:
    stat = _read_stat(pid)
    return stat[1] if stat else 0


def _by_package(stats: pstats.Stats) -> str:
    """Own time (tottime) summed per package: where a step's CPU goes, in shares of the profiled total."""
    totals: Counter = Counter()
    for (path, _, _), (_, _, tottime, _, _) in stats.stats.items():
        match = (re.search(r"site-packages/([^/]+)", path) or re.search(r"/(rallies|templates)/", path)
                 or re.search(r"python3\.\d+/([^/]+)", path))
        name = match.group(1) if match else ("builtins" if path == "~" else path)
        totals[name.removesuffix(".py")] += tottime
    whole = sum(totals.values()) or 1
    return "own time by package: " + ", ".join(f"{k} {100 * v / whole:.0f}%" for k, v in totals.most_common(14))


def run(engine: str, signups: int, profile: str | None, top: int) -> None:
    from sqlalchemy import event

    from bench.bench_signup import setup_rally
    from rallies.extensions import db
    from rallies.mail.delivery import deliver_pending

    tick = os.sysconf("SC_CLK_TCK")
    with fresh_database(engine) as url:
        port = free_port()
        fd, count_path = tempfile.mkstemp(prefix="profile-smtp-")
        os.close(fd)
        sink = subprocess.Popen([sys.executable, "-m", "bench.smtp_sink", str(port), count_path], cwd=ROOT)
        time.sleep(1.0)
        try:
            slug = setup_rally(url, "viral", None)
            app = _app(url, port)
            statements: Counter = Counter()
            with app.app_context():
                engine_ = db.engine

            @event.listens_for(engine_, "before_cursor_execute")
            def _count(conn, cursor, statement, params, context, executemany):
                statements["all"] += 1
                statements[statement.split(None, 1)[0].upper()] += 1

            warm = [Person(app, slug, 1_000_000 + i) for i in range(20)]
            for p in warm:
                for step in STEPS[:-1]:
                    getattr(p, step)()
            deliver_pending(app)
            people = [Person(app, slug, i) for i in range(signups)]
            print(f"\n{engine}: {signups} sign-ups, in-process (Flask test client), per request:")
            print(f"{'step':<12} {'app CPU ms':>10} {'db CPU ms':>10} {'sink ms':>8} {'wall ms':>8}  statements")
            for step in STEPS:
                statements.clear()
                prof = cProfile.Profile(time.process_time) if profile == step else None
                pg = PgBackends(url) if engine == "postgresql" else None
                sink_before = _proc_ticks(sink.pid)
                c0, w0 = time.process_time(), time.perf_counter()
                if prof:
                    prof.enable()
                if step == "email":
                    sent = 0
                    while sent < signups:
                        n = deliver_pending(app)
                        if not n:
                            break
                        sent += n
                else:
                    for p in people:
                        getattr(p, step)()
                if prof:
                    prof.disable()
                cpu, wall = time.process_time() - c0, time.perf_counter() - w0
                db_ms = (pg.stop() / tick * 1000 / signups) if pg else 0.0
                sink_ms = (_proc_ticks(sink.pid) - sink_before) / tick * 1000 / signups
                per = {k: v / signups for k, v in statements.items()}
                detail = ", ".join(f"{k} {v:.1f}" for k, v in sorted(per.items()) if k != "all")
                print(f"{step:<12} {1000 * cpu / signups:>10.2f} {db_ms:>10.2f} {sink_ms:>8.2f} "
                      f"{1000 * wall / signups:>8.2f}  {per.get('all', 0):.1f} ({detail})")
                if prof:
                    out = io.StringIO()
                    stats = pstats.Stats(prof, stream=out)
                    stats.sort_stats("cumulative").print_stats(top)
                    stats.sort_stats("tottime").print_stats(top)
                    print(out.getvalue())
                    print(_by_package(stats))
            with app.app_context():
                db.engine.dispose()
        finally:
            sink.terminate()
            sink.wait(10)
            Path(count_path).unlink(missing_ok=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--signups", type=int, default=200)
    parser.add_argument("--profile", choices=STEPS)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    run(args.engine, args.signups, args.profile, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
