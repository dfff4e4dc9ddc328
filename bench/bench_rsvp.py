"""RSVP throughput, ticket page and QR image, and memory over 10,000 RSVPs.

    python -m bench.bench_rsvp --engine sqlite|postgresql|both [--duration 10]

Per engine, on one throw-away database, in the same run:

1. RSVP POST (form validation with CSRF, the capacity UPDATE, RSVP + supporter + outbox
   rows, the 303 redirect) against two baselines doing one INSERT, all with gunicorn and 2 sync
   workers: the bare app's ``POST /insert`` (bench/baseline_app.py: Flask + Flask-SQLAlchemy
   alone; the issue's "baseline Flask endpoint", and the one the target is judged against) and
   the same-stack ``POST /bench/insert`` (bench/same_stack_app.py: the project's own create_app()
   with a bench-only blueprint, so it pays the same app-wide middleware as the RSVP). Each RSVP has a fresh email (no duplicate path).
   Both servers run side by side and are loaded in alternating 3-second slices, and each
   side's median slice counts, since the machine's other load comes and goes.
   Target: Rallies >= 50% of the baseline.
2. Ticket page (``GET /t/<token>``: status, local time, QR SVG, venue map) and the QR PNG
   (``GET /t/<token>/qr.png``) over 100 tickets, after warming each URL ten times, against the
   bare baseline's ``GET /static-page`` (judged) and the same-stack ``GET /bench/static-page``. Target: within 2x (>= 50% of the baseline's req/s).
3. Memory: the resident size of both gunicorn workers after 1,000 warm-up RSVPs and after
   each further 2,500, up to 10,000 more. Target: growth under 10 MB per worker.

The outbox is left to the worker (MAIL_DELIVERY=worker), so the figures are the request's
own cost: the sender renders and sends mail outside the request.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from bench.harness import (
    BENCH_TICKET_KEK,
    Client,
    Request,
    Row,
    Server,
    fresh_database,
    load,
    project_env,
    write_results,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
#: Seconds per alternating load slice.
SLICE = 3.0


def median_run(runs):
    """The run with the median req/s."""
    return sorted(runs, key=lambda r: r.rps)[len(runs) // 2]


def spread(runs) -> str:
    """'slices: a-b req/s' for a list of runs."""
    rates = sorted(r.rps for r in runs)
    return f"{len(runs)} slices {rates[0]:,.0f}-{rates[-1]:,.0f} req/s"


def setup_rally(url: str) -> str:
    """A listed rally with no capacity limit and a geocoded venue; returns its slug."""
    from config import Config
    from rallies import create_app
    from rallies.database import atomic
    from rallies.extensions import db
    from rallies.models import Campaign, Rally
    from rallies.services.tickets import ensure_rally_keys

    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=secrets.token_hex(16), TICKET_KEK=BENCH_TICKET_KEK, TESTING=True)
    with app.app_context():
        with atomic():
            campaign = Campaign(name="Bench campaign")
            db.session.add(campaign)
            db.session.flush()
            start = datetime.now(UTC) + timedelta(days=7)
            rally = Rally(campaign_id=campaign.id, slug="bench-rally", title="Bench Rally for Jobs", starts_at=start,
                          ends_at=start + timedelta(hours=2), doors_open_at=start - timedelta(hours=1),
                          timezone="America/Chicago", venue_name="Union Park", address="1501 W Randolph St",
                          city="Chicago", state="IL", postal_code="60607", lat=41.8847, lon=-87.6658,
                          geo_precision="street", capacity=None, max_guests=3, visibility="listed")
            db.session.add(rally)
            db.session.flush()
            ensure_rally_keys(rally)
        db.engine.dispose()
    return "bench-rally"


def rsvp_requests(slug: str, csrf: str, prefix: str, n: int) -> list[Request]:
    """n RSVP POSTs, each with its own email."""
    out = []
    for i in range(n):
        body = urlencode({"csrf_token": csrf, "name": f"Bench Person {i}", "email": f"{prefix}{i}@example.org",
                          "phone": "", "postal_code": "60607", "guests": str(i % 3), "utm_source": "bench"})
        out.append(Request("POST", f"/r/{slug}/rsvp", body))
    return out


def insert_requests(n: int, path: str = "/insert") -> list[Request]:
    """n one-INSERT POSTs to a baseline."""
    return [Request("POST", path, urlencode({"name": f"Bench Person {i}"})) for i in range(n)]


def tokens(url: str, limit: int = 500) -> list[str]:
    """Ticket tokens of going RSVPs made by the run (opened from their sealed copies with the app's KEK)."""
    import sqlalchemy as sa

    from config import Config
    from rallies import create_app
    from rallies.extensions import db
    from rallies.services.link_secrets import open_page_token

    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=secrets.token_hex(16), TICKET_KEK=BENCH_TICKET_KEK, TESTING=True)
    with app.app_context():
        rows = db.session.execute(sa.text("SELECT token_hash, token_sealed FROM rsvp WHERE status = 'going' "
                                          "ORDER BY id LIMIT :n"), {"n": limit}).all()
        found = [open_page_token(h, s) for h, s in rows]
        db.engine.dispose()
    return found


def worker_rss_kb(server: Server) -> list[int]:
    """Resident set size of each gunicorn worker (children of the master), in kB."""
    out = subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True, check=False)
    sizes = []
    for pid in out.stdout.split():
        status = Path(f"/proc/{pid}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]))
    return sorted(sizes)


def cpu_per_request(url: str, slug: str, n: int = 400) -> dict[str, float]:
    """This process's CPU ms per request, in-process through the Flask test client (no HTTP, no load
    generator): a figure the machine's other load barely moves, unlike req/s on two shared cores."""
    import re
    import time

    from bench.baseline_app import create_baseline_app
    from bench.same_stack_app import create_same_stack_app
    from config import Config
    from rallies import create_app

    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=secrets.token_hex(16), TICKET_KEK=BENCH_TICKET_KEK, RATELIMIT_ENABLED=False,
                     MAIL_DELIVERY="worker", SESSION_COOKIE_SECURE=False, PREFERRED_URL_SCHEME="http",
                     LOG_LEVEL="WARNING")
    base = create_baseline_app(url)
    same = create_same_stack_app(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=secrets.token_hex(16), TICKET_KEK=BENCH_TICKET_KEK,
                                 RATELIMIT_ENABLED=False, MAIL_DELIVERY="worker", SESSION_COOKIE_SECURE=False,
                                 PREFERRED_URL_SCHEME="http", LOG_LEVEL="WARNING")
    client, bclient, sclient = app.test_client(), base.test_client(), same.test_client()
    # Ticket views without cookies, as wrk sends them below (and as most revisits come).
    anon = app.test_client(use_cookies=False)
    html = client.get(f"/r/{slug}/rsvp").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)

    def rsvp(i):
        resp = client.post(f"/r/{slug}/rsvp", data={"csrf_token": csrf, "name": f"Cpu Person {i}",
                                                    "email": f"cpu{i}@example.org", "guests": str(i % 3),
                                                    "postal_code": "60607"})
        with client.session_transaction() as sess:  # drop the flash, as the ticket page would
            sess.pop("_flashes", None)
        return resp.headers["Location"]

    def timed(fn, count):
        t0 = time.process_time()
        for i in range(count):
            fn(i)
        return (time.process_time() - t0) / count * 1000

    for i in range(50):
        ticket = rsvp(10_000_000 + i)
        bclient.post("/insert", data={"name": f"warm {i}"})
        anon.get(ticket)
        anon.get(ticket + "/qr.png")
        bclient.get("/static-page")
        sclient.post("/bench/insert", data={"name": f"warm {i}"})
        sclient.get("/bench/static-page")
    out = {
        "same_insert": timed(lambda i: sclient.post("/bench/insert", data={"name": f"cpu {i}"}), n),
        "same_static": timed(lambda i: sclient.get("/bench/static-page"), n),
        "insert": timed(lambda i: bclient.post("/insert", data={"name": f"cpu {i}"}), n),
        "rsvp": timed(rsvp, n),
        "static": timed(lambda i: bclient.get("/static-page"), n),
        "ticket": timed(lambda i: anon.get(ticket), n),
        "qr": timed(lambda i: anon.get(ticket + "/qr.png"), n),
    }
    with app.app_context():
        from rallies.extensions import db

        db.engine.dispose()
    for other in (base, same):
        with other.app_context():
            from rallies.extensions import db

            db.engine.dispose()
    return out


def run_engine(engine: str, duration: float) -> list[Row]:
    rows: list[Row] = []
    with fresh_database(engine) as url:
        from bench.baseline_app import init_baseline

        slug = setup_rally(url)
        init_baseline(url, tickets=0)
        cpu = cpu_per_request(url, slug)
        rows.append(Row("CPU ms per request, in-process (no HTTP)", engine, figures=(
            f"RSVP POST {cpu['rsvp']:.2f} vs INSERT bare {cpu['insert']:.2f} ({cpu['insert'] / cpu['rsvp']:.0%}), "
            f"same-stack {cpu['same_insert']:.2f} ({cpu['same_insert'] / cpu['rsvp']:.0%}); "
            f"ticket page {cpu['ticket']:.2f}, QR PNG {cpu['qr']:.2f} vs static page bare {cpu['static']:.2f}, "
            f"same-stack {cpu['same_static']:.2f}")))
        env = project_env(url)
        slices = max(2, int(duration // SLICE))
        # Both servers run side by side and are loaded in alternating slices, so load from other
        # processes on this shared machine falls on both sides alike; the median slice is reported.
        with Server("bench.baseline_app:app", env=env, ready_path="/hello") as base, \
                Server("bench.same_stack_app:create_same_stack_app()", env=env, ready_path="/bench/hello") as same, \
                Server("wsgi:app", env=env, ready_path="/healthz") as srv:
            client = Client(srv.url)
            csrf = client.csrf_token(f"/r/{slug}/rsvp")
            headers = {**FORM, "Cookie": client.cookie_header()}
            load(base.url, insert_requests(300), duration=2, headers=FORM)  # warm-up
            load(same.url, insert_requests(300, "/bench/insert"), duration=2, headers=FORM)
            load(srv.url, rsvp_requests(slug, csrf, "warm-", 300), duration=2, headers=headers)
            base_runs, same_runs, rsvp_runs = [], [], []
            for k in range(slices):
                base_runs.append(load(base.url, insert_requests(20_000), duration=SLICE, headers=FORM))
                same_runs.append(load(same.url, insert_requests(20_000, "/bench/insert"), duration=SLICE,
                                      headers=FORM))
                res = load(srv.url, rsvp_requests(slug, csrf, f"r{k}-", 20_000), duration=SLICE, headers=headers)
                if res.count(303) != res.requests or res.wrapped:
                    raise RuntimeError(f"RSVP run not clean: {res.summary()}")
                rsvp_runs.append(res)
            base_res, same_res, rsvp_res = median_run(base_runs), median_run(same_runs), median_run(rsvp_runs)
            ratio = rsvp_res.rps / base_res.rps if base_res.rps else 0
            same_ratio = rsvp_res.rps / same_res.rps if same_res.rps else 0
            rows.append(Row("baseline (bare app): POST /insert (one INSERT)", engine, base_res,
                            figures=spread(base_runs)))
            rows.append(Row("baseline (same stack): POST /bench/insert (one INSERT)", engine, same_res,
                            figures=spread(same_runs)))
            rows.append(Row("RSVP POST (validate, RSVP + outbox, 303)", engine, rsvp_res,
                            target=">= 50% of bare baseline", passed=ratio >= 0.5,
                            figures=f"{ratio:.0%} of bare baseline, {same_ratio:.0%} of same-stack; "
                                    f"{spread(rsvp_runs)}"))

            ticket_tokens = tokens(url, 100)
            pages = [Request("GET", f"/t/{t}") for t in ticket_tokens]
            images = [Request("GET", f"/t/{t}/qr.png") for t in ticket_tokens]
            # Warm both workers' caches (code, SVG, PNG, map): each URL ten times, so a worker has missed
            # a given ticket with probability 2^-10 (random worker choice per request).
            load(srv.url, pages + images, max_requests=10 * (len(pages) + len(images)), engine="python")
            load(base.url, "/static-page", duration=2)
            load(same.url, "/bench/static-page", duration=2)
            static_runs, same_static_runs, page_runs, png_runs = [], [], [], []
            for _ in range(slices):
                static_runs.append(load(base.url, "/static-page", duration=SLICE))
                same_static_runs.append(load(same.url, "/bench/static-page", duration=SLICE))
                page_runs.append(load(srv.url, pages, duration=SLICE))
                png_runs.append(load(srv.url, images, duration=SLICE))
            static, same_static = median_run(static_runs), median_run(same_static_runs)
            rows.append(Row("baseline (bare app): GET /static-page", engine, static, figures=spread(static_runs)))
            rows.append(Row("baseline (same stack): GET /bench/static-page", engine, same_static,
                            figures=spread(same_static_runs)))
            for case, runs in (("ticket page GET /t/<token> (warm)", page_runs),
                               ("QR PNG GET /t/<token>/qr.png (warm)", png_runs)):
                res = median_run(runs)
                share = res.rps / static.rps if static.rps else 0
                same_share = res.rps / same_static.rps if same_static.rps else 0
                rows.append(Row(case, engine, res, target="within 2x of bare static page",
                                passed=share >= 0.5 and res.count(200) == res.requests,
                                figures=f"{share:.0%} of bare static page, {same_share:.0%} of same-stack; "
                                        f"{spread(runs)}"))

        with Server("wsgi:app", env=env, ready_path="/healthz") as srv:
            client = Client(srv.url)
            csrf = client.csrf_token(f"/r/{slug}/rsvp")
            headers = {**FORM, "Cookie": client.cookie_header()}
            load(srv.url, rsvp_requests(slug, csrf, "memwarm-", 1000), max_requests=1000, on_exhaust="stop",
                 headers=headers, engine="python")
            samples = [worker_rss_kb(srv)]
            for chunk in range(4):
                load(srv.url, rsvp_requests(slug, csrf, f"mem{chunk}-", 2500), max_requests=2500,
                     on_exhaust="stop", headers=headers, engine="python")
                samples.append(worker_rss_kb(srv))
        growth = max(after - before for before, after in zip(samples[0], samples[-1], strict=False))
        trail = " -> ".join("/".join(f"{kb / 1024:.1f}" for kb in s) for s in samples)
        rows.append(Row("memory over 10,000 RSVPs (worker RSS MB, after 1k warm-up, then every 2.5k)", engine,
                        figures=f"{trail}; max growth {growth / 1024:.1f} MB", target="< 10 MB growth per worker",
                        passed=growth < 10 * 1024))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args(argv)
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    rows = []
    for engine in engines:
        rows += run_engine(engine, args.duration)
    name = "rsvp" if args.engine == "both" else f"rsvp_{args.engine}"
    write_results(name, rows, title="RSVP, ticket page and memory", notes=(
        "gunicorn, 2 sync workers, same database and run for Rallies and both baselines: the bare app "
        "(bench/baseline_app.py, Flask + Flask-SQLAlchemy; the targets are judged against it) and the same-stack "
        "app (bench/same_stack_app.py: the project's create_app() plus a bench-only blueprint, paying the same "
        "app-wide middleware as Rallies). RSVP POSTs carry a CSRF token and a fresh email each; email is queued "
        "in the same transaction and rendered by the sender (MAIL_DELIVERY=worker), outside the request. The "
        "three servers are up together and loaded in alternating 3 s slices; each row is the median slice. "
        "The CPU row times requests in-process "
        "(this process's CPU time), which the machine's other load barely moves. "
        f"Machine load from other processes is in the last column (CPU count {os.cpu_count()})."))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
