"""Where a first-admission scan's server time goes: in-process, through the Flask test client.

    python -m bench.profile_checkin --engine sqlite|postgresql [--scans 2000] [--top 40] [--limiter]

Seeds a rally (bench_checkin.seed_rally) on a throw-away database, warms up, then POSTs
``/api/v1/door/checkin`` with fresh tickets and nonces and prints: this process's CPU per scan,
the SQL statements per scan (an SQLAlchemy ``before_cursor_execute`` listener, BEGIN/COMMIT
included), each distinct statement, and cProfile's top functions. A profiling aid, not a
benchmark of record: the test client's WSGI environ building replaces gunicorn's HTTP parsing,
and PostgreSQL's own CPU is not in the figure (bench_checkin measures both).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import time
import uuid
from collections import Counter

from bench.bench_checkin import codes_for, seed_rally
from bench.harness import BENCH_TICKET_KEK, fresh_database


def profile(engine: str, scans: int, top: int, limiter: bool, tickets: int) -> None:
    import sqlalchemy as sa
    from flask import Flask

    from config import Config
    from rallies import create_app
    from rallies.extensions import db

    with fresh_database(engine) as url:
        facts = seed_rally(url, tickets, "Profile")
        codes = codes_for(facts, min(tickets, 500 + scans))
        overrides = dict(SQLALCHEMY_DATABASE_URI=url, TICKET_KEK=BENCH_TICKET_KEK, SECRET_KEY="profile-" + "x" * 24,
                         RATELIMIT_ENABLED=limiter, LOG_LEVEL="WARNING")
        if limiter:
            overrides["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379/15"
            overrides["RATELIMIT_DOOR"] = "1000000 per minute"
        app: Flask = create_app(Config, **overrides)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {facts['doors'][0][1]}", "Content-Type": "application/json"}

        def scan(code):
            resp = client.post("/api/v1/door/checkin", data=json.dumps({"code": code, "nonce": uuid.uuid4().hex}),
                               headers=headers)
            assert resp.status_code == 200 and resp.json["verdict"] == "admit", resp.data[:300]

        for code in codes[:500]:
            scan(code)
        measured = codes[500:500 + scans]
        statements: Counter = Counter()

        with app.app_context():
            engine_ = db.engine

        def count(conn, cursor, statement, parameters, context, executemany):
            statements[" ".join(statement.split())[:160]] += 1

        def begin(conn):
            statements["(BEGIN)"] += 1

        def commit(conn):
            statements["(COMMIT)"] += 1

        sa.event.listen(engine_, "before_cursor_execute", count)
        sa.event.listen(engine_, "begin", begin)
        sa.event.listen(engine_, "commit", commit)
        half = len(measured) // 2
        t0, c0 = time.perf_counter(), time.process_time()
        for code in measured[:half]:
            scan(code)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        for name, fn in (("before_cursor_execute", count), ("begin", begin), ("commit", commit)):
            sa.event.remove(engine_, name, fn)
        prof = cProfile.Profile(time.process_time)  # CPU, not time spent waiting on the database
        prof.enable()
        for code in measured[half:]:
            scan(code)
        prof.disable()

    n = half
    print(f"\n{engine}: {n} scans, CPU {cpu / n * 1000:.2f} ms/scan in this process, wall {wall / n * 1000:.2f} ms/scan")
    print(f"statements per scan: {sum(statements.values()) / n:.1f}")
    for text, k in statements.most_common():
        print(f"  {k / n:4.1f}  {text}")
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    print(out.getvalue())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--scans", type=int, default=2000)
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--limiter", action="store_true", help="rate limits on, in Redis (db 15), as in production")
    args = parser.parse_args(argv)
    profile(args.engine, args.scans, args.top, args.limiter, args.tickets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
