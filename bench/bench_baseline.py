"""The bare stack on this machine: the baseline app's four endpoints, for reference.

    python -m bench.bench_baseline --engine sqlite        (or postgresql, or both)

gunicorn with 2 sync workers, wrk with 8 connections, on a throw-away database that
also holds the project schema. The check-in ceiling (/select-update) redeems fresh
tickets for a short run (each ticket once: the run is invalid if wrk had to reuse
them), then repeat scans of already-redeemed tickets. Every feature benchmark
measures the baseline it compares against in its own run; this table is the overview.
"""

from __future__ import annotations

import argparse
import json

from bench.baseline_app import init_baseline, reset_tickets
from bench.harness import Request, Row, Server, fresh_database, load, project_env, write_results

TICKETS = 20000
JSON = {"Content-Type": "application/json"}


def measure(engine: str, duration: float) -> list[Row]:
    """Measure every baseline endpoint on one engine."""
    rows = []
    with fresh_database(engine) as url:
        codes = init_baseline(url, tickets=TICKETS)
        with Server("bench.baseline_app:app", workers=2, env=project_env(url), ready_path="/hello") as srv:
            load(srv.url, "/hello", duration=2)  # warm-up: imports, first connections
            for case, path in (("GET /hello (Flask + gunicorn only)", "/hello"),
                               ("GET /static-page (Jinja, no database)", "/static-page")):
                res = load(srv.url, path, duration=duration)
                rows.append(Row(case, engine, res, passed=None))
            res = load(srv.url, [Request("POST", "/insert", '{"name": "x"}')], duration=duration, headers=JSON)
            rows.append(Row("POST /insert (one INSERT per transaction)", engine, res, passed=None))

            tickets = [Request("POST", "/select-update", json.dumps({"secret": c})) for c in codes]
            load(srv.url, tickets[:500], duration=2, headers=JSON)  # warm-up on its own tickets
            reset_tickets(url)
            fresh = load(srv.url, tickets, duration=min(duration, 8), headers=JSON)
            rows.append(Row("POST /select-update, new tickets (check-in ceiling)", engine, fresh,
                            target="each ticket sent once (no wrap), all 200", passed=fresh.wrapped == 0
                            and fresh.count(200) == fresh.requests))
            reset_tickets(url, checked_in=True)
            repeat = load(srv.url, tickets[:1000], duration=duration, headers=JSON)
            rows.append(Row("POST /select-update, already redeemed (400)", engine, repeat, passed=None))
    return rows


def main() -> None:
    """Command line: --engine sqlite|postgresql|both, --duration seconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    rows = [row for engine in engines for row in measure(engine, args.duration)]
    name = "baseline" if args.engine == "both" else f"baseline_{args.engine}"
    write_results(name, rows, title="Baseline app: the bare stack on this machine",
                  notes="gunicorn 2 sync workers, wrk 2 threads / 8 connections, project engine set-up "
                        "(SQLite WAL + BEGIN IMMEDIATE, or PostgreSQL via psycopg with SELECT ... FOR UPDATE). "
                        "Informational rows have no target. Other work on the machine lowers these figures.")


if __name__ == "__main__":
    main()
