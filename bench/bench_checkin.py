"""Door check-in: throughput against the stack's ceiling, flatness in tickets, races, sync size, offline verdicts.

    python -m bench.bench_checkin --engine sqlite|postgresql|both [--duration 8] [--no-browser]

Per engine, in the same run:

1. Ceiling: the baseline app's ``POST /select-update`` (one indexed SELECT + one UPDATE) on the
   same database, and Rallies' ``POST /api/v1/door/checkin`` with a bearer door session: session
   lookup, code parsing, Ed25519 signature check, the conditional UPDATE, scan log, check-in row,
   arrival-minute upsert, door and rally counters and the peak rate. gunicorn with 2 sync workers,
   8 clients (wrk), every request a fresh ticket and a fresh nonce. The two sides alternate twice
   and each side's best run counts (the machine's other load comes and goes).
   Targets: >= 50% of the ceiling; >= 40x pretix (about 20 req/s) = 800 req/s; p99 < 20 ms.
2. Flat in tickets: the same check-in load on a rally of 20,000 and one of 200,000 tickets
   (each in its own database). Target: 200k within 20% of 20k.
3. Race: 500 tickets, each scanned by 4 clients at 4 doors at once: admissions counted.
4. Sync: the full payload for a 30,000-ticket rally, gzip-compressed (target < 1 MB), and an
   incremental sync after 100 check-ins.
5. Offline verdicts: in headless Chromium, after syncing the 30,000-ticket rally, 300 scans
   decided on the device (WebCrypto Ed25519 + IndexedDB + queue write). Target: p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import gzip
import json
import secrets
import statistics
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

from bench.harness import (
    BENCH_TICKET_KEK,
    Request,
    Row,
    Server,
    baseline_server,
    fresh_database,
    load,
    project_env,
    write_results,
)

PRETIX_RPS = 20
FIRST = ["Ana", "María", "José", "Li", "Sam", "Dana", "Chris", "Fatima", "Olu", "Zoë", "Nguyen", "Jean-Luc"]
LAST = "ABCDEFGHIJKLMNOPRSTVWZ"


def _app(url: str):
    from config import Config
    from rallies import create_app

    return create_app(Config, SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=secrets.token_hex(16), TICKET_KEK=BENCH_TICKET_KEK,
                      TESTING=True)


def seed_rally(url: str, tickets: int, title: str) -> dict:
    """A rally with `tickets` single tickets, two doors and a door session per door; returns its facts."""
    from rallies.database import atomic
    from rallies.extensions import db
    from rallies.models import Campaign, Rally, Rsvp, utcnow
    from rallies.services import doors
    from rallies.services.link_secrets import new_page_token
    from rallies.services.tickets import ensure_rally_keys

    app = _app(url)
    with app.app_context():
        with atomic():
            campaign = db.session.scalar(db.select(Campaign)) or Campaign(name="Bench campaign")
            db.session.add(campaign)
            db.session.flush()
            start = datetime.now(UTC) - timedelta(minutes=30)
            rally = Rally(campaign_id=campaign.id, slug=f"bench-{secrets.token_hex(4)}", title=title, starts_at=start,
                          ends_at=start + timedelta(hours=3), timezone="America/Chicago", venue_name="Park",
                          city="Chicago", state="IL", visibility="listed")
            db.session.add(rally)
            db.session.flush()
            ensure_rally_keys(rally)
            rally_id = rally.id
            tokens = []
            for i in range(4):
                door = doors.create_door(rally, f"Gate {i + 1}")
                link, link_secret = doors.create_link(door, "scanner", utcnow() + timedelta(hours=6))
                _s, token = doors.open_link(link_secret, f"Bench phone {i + 1}")
                tokens.append((door.id, token))
        now = utcnow()
        table = Rsvp.__table__
        chunk = 10_000
        for start_i in range(0, tickets, chunk):
            rows = []
            for i in range(start_i, min(tickets, start_i + chunk)):
                first, last = FIRST[i % len(FIRST)], LAST[(i // 7) % len(LAST)]
                rows.append(dict(rally_id=rally_id, **new_page_token().columns(), name=f"{first} {last}x",
                                 email=f"p{i}.{rally_id}@example.org", door_name=f"{first} {last}.",
                                 search_name=f"{first.lower()} {last.lower()}x", guests=i % 3 == 0 and 1 or 0,
                                 status="going", created_at=now, updated_at=now, status_at=now, changed_seq=i + 1))
            with atomic():
                db.session.execute(table.insert(), rows)
        # Fresh statistics after the bulk load, as a live database would have (autovacuum, ANALYZE).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
        ids = list(db.session.scalars(db.select(Rsvp.id).where(Rsvp.rally_id == rally_id).order_by(Rsvp.id)))
        key = bytes(db.session.get(Rally, rally_id).signing_key)
        db.session.remove()
        db.engine.dispose()
    return {"rally_id": rally_id, "ids": ids, "key": key, "doors": tokens}


def codes_for(facts: dict, count: int) -> list[str]:
    """Codes of `count` tickets spread over the whole id range (shuffled)."""
    import random

    from rallies.services.tickets import code_for

    ids = facts["ids"]
    step = max(1, len(ids) // count)
    chosen = ids[::step][:count]
    random.Random(7).shuffle(chosen)
    return [code_for(facts["rally_id"], facts["key"], i) for i in chosen]


def checkin_requests(codes: list[str]) -> list[Request]:
    return [Request("POST", "/api/v1/door/checkin", json.dumps({"code": c, "nonce": uuid.uuid4().hex})) for c in codes]


def run_checkin(srv: Server, facts: dict, codes: list[str], duration: float):
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {facts['doors'][0][1]}"}
    return load(srv.url, checkin_requests(codes), duration=duration, connections=8, headers=headers)


def race(srv: Server, facts: dict, tickets: int = 500, clients: int = 4) -> dict:
    """Each ticket scanned by `clients` threads at different doors at once; count the verdicts."""
    import http.client
    from urllib.parse import urlsplit

    codes = codes_for(facts, tickets)
    verdicts: list[str] = []
    barrier = threading.Barrier(clients)
    host = urlsplit(srv.url)

    def client(token: str):
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        barrier.wait()
        for code in codes:
            body = json.dumps({"code": code, "nonce": uuid.uuid4().hex})
            conn.request("POST", "/api/v1/door/checkin", body, {"Content-Type": "application/json",
                                                                 "Authorization": f"Bearer {token}"})
            verdicts.append(json.loads(conn.getresponse().read())["verdict"])
        conn.close()

    threads = [threading.Thread(target=client, args=(facts["doors"][i % len(facts["doors"])][1],))
               for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"tickets": tickets, "clients": clients, "admit": verdicts.count("admit"),
            "already": verdicts.count("already"), "other": len(verdicts) - verdicts.count("admit") - verdicts.count("already")}


def sync_sizes(srv: Server, facts: dict) -> dict:
    """Compressed bytes of a full sync and of an incremental sync after 100 check-ins."""
    door_id, token = facts["doors"][1]

    def get(path):
        req = urllib.request.Request(srv.url + path, headers={"Authorization": f"Bearer {token}",
                                                               "Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            raw = resp.read()
            encoded = resp.headers.get("Content-Encoding") == "gzip"
        return len(raw), json.loads(gzip.decompress(raw) if encoded else raw)

    t0 = time.perf_counter()
    full_bytes, full = get("/api/v1/door/sync")
    full_ms = (time.perf_counter() - t0) * 1000
    raw_bytes = len(json.dumps(full, separators=(",", ":")))
    for code in codes_for(facts, 100):
        body = json.dumps({"code": code, "nonce": uuid.uuid4().hex}).encode()
        req = urllib.request.Request(srv.url + "/api/v1/door/checkin", data=body, headers={
            "Authorization": f"Bearer {facts['doors'][2][1]}", "Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=30).read()
    time.sleep(31)  # past the overlap window, so the incremental carries only these changes
    inc_bytes, inc = get(f"/api/v1/door/sync?since={full['cursor']}")
    return {"tickets": len(full["tickets"]), "full_gzip": full_bytes, "full_raw": raw_bytes, "full_ms": full_ms,
            "inc_gzip": inc_bytes, "inc_tickets": len(inc["tickets"]), "inc_checkins": len(inc["checkins"])}


def offline_verdicts(srv: Server, facts: dict, scans: int = 300) -> dict:
    """Time on-device verdicts in headless Chromium after a full sync of the rally."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM_ARGS, chromium_path

    door_id, token = facts["doors"][3]
    codes = codes_for(facts, scans)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(bypass_csp=True)  # wait_for_function polls with eval
        context.add_cookies([{"name": "door_session", "value": token, "domain": "127.0.0.1",
                              "path": f"/door/{door_id}/"}])
        page = context.new_page()
        page.goto(f"{srv.url}/door/{door_id}/")
        page.wait_for_selector("body[data-ready='1']")
        page.wait_for_function("() => window.door.offline && window.door.offline.meta.lastSync", timeout=120000)
        times = page.evaluate("""async (codes) => {
            const off = window.door.offline, out = [];
            for (const code of codes) {
              const t0 = performance.now();
              await off.decide({code}, {nonce: crypto.randomUUID().replace(/-/g, ''), clientTime: Date.now(),
                                        doorName: 'Gate 4', device: 'bench'});
              out.push(performance.now() - t0);
            }
            return out;
        }""", codes)
        browser.close()
    times.sort()
    return {"scans": len(times), "p50": statistics.median(times), "p99": times[int(len(times) * 0.99) - 1],
            "max": times[-1]}


def bench_engine(engine: str, duration: float, browser: bool) -> list[Row]:
    """All cases on one engine."""
    rows: list[Row] = []
    results = {}
    with fresh_database(engine) as url20:
        small = seed_rally(url20, 20_000, "Bench 20k")
        sync_rally = seed_rally(url20, 30_000, "Bench 30k")
        race_rally = seed_rally(url20, 500, "Bench race")
        codes = codes_for(small, 20_000)
        with baseline_server(url20, tickets=40_000) as (base, secrets_), \
                Server("wsgi:app", workers=2, env=project_env(url20), ready_path="/healthz") as srv:
            # Alternate ceiling and check-in runs: the machine's other load comes and goes.
            ceiling, runs = [], []
            for half in (0, 1):
                part = secrets_[half * 20_000:(half + 1) * 20_000]
                ceiling.append(load(base.url, [Request("POST", "/select-update", json.dumps({"secret": s}))
                                               for s in part], duration=duration, connections=8,
                                    headers={"Content-Type": "application/json"}))
                runs.append(run_checkin(srv, small, codes[half * 10_000:(half + 1) * 10_000], duration))
            results["race"] = race(srv, race_rally)
            results["sync"] = sync_sizes(srv, sync_rally)
            if browser:
                try:
                    results["offline"] = offline_verdicts(srv, sync_rally)
                except Exception as exc:  # no Chromium: say so in the table
                    results["offline_error"] = str(exc)[:200]
    best_base = max(ceiling, key=lambda r: r.rps)
    best = max(runs, key=lambda r: r.rps)
    rows.append(Row("ceiling: baseline SELECT + UPDATE (20k tickets)", engine, best_base))
    share = best.rps / best_base.rps if best_base.rps else 0
    cpu = best.server_cpu_ms
    idle = f"; idle-machine bound 2,000 / {cpu:.2f} ms = {2000 / cpu:,.0f} req/s" if cpu else ""
    rows.append(Row("check-in, 20k-ticket rally: vs ceiling", engine, best, target=">= 50% of the ceiling",
                    passed=share >= 0.5, figures=f"{share:.0%} of the ceiling's req/s"))
    rows.append(Row("check-in, 20k-ticket rally: vs pretix", engine, None,
                    target=">= 800 req/s (40x pretix) and p99 < 20 ms",
                    passed=best.rps >= 40 * PRETIX_RPS and best.p99_ms < 20,
                    figures=f"{best.rps:,.0f} req/s = {best.rps / PRETIX_RPS:.0f}x pretix, p99 {best.p99_ms:.1f} ms{idle}"))
    with fresh_database(engine) as url200:
        big = seed_rally(url200, 200_000, "Bench 200k")
        big_codes = codes_for(big, 20_000)
        with Server("wsgi:app", workers=2, env=project_env(url200), ready_path="/healthz") as srv:
            big_runs = [run_checkin(srv, big, big_codes[:10_000], duration),
                        run_checkin(srv, big, big_codes[10_000:], duration)]
    best_big = max(big_runs, key=lambda r: r.rps)
    ratio = best_big.rps / best.rps if best.rps else 0
    rows.append(Row("check-in, 200k-ticket rally", engine, best_big, target="within 20% of the 20k rally",
                    passed=ratio >= 0.8, figures=f"{ratio:.0%} of the 20k rally's req/s"))
    r = results["race"]
    rows.append(Row(f"race: {r['tickets']} tickets x {r['clients']} clients at 4 doors", engine,
                    figures=f"admit {r['admit']}, already {r['already']}, other {r['other']}",
                    target="admit == tickets (zero double admissions)", passed=r["admit"] == r["tickets"]))
    s = results["sync"]
    rows.append(Row(f"sync: full, {s['tickets']:,} tickets", engine,
                    figures=f"{s['full_gzip'] / 1024:.0f} KiB gzip ({s['full_raw'] / 1024:.0f} KiB raw), {s['full_ms']:.0f} ms",
                    target="< 1 MB compressed", passed=s["full_gzip"] < 1_000_000))
    rows.append(Row("sync: incremental after 100 check-ins", engine,
                    figures=f"{s['inc_gzip']:,} bytes; {s['inc_tickets']} tickets, {s['inc_checkins']} check-ins",
                    target="only the changes", passed=s["inc_tickets"] <= 100 and s["inc_checkins"] <= 100))
    if "offline" in results:
        o = results["offline"]
        rows.append(Row(f"offline verdict in Chromium ({o['scans']} scans, 30k synced)", engine,
                        figures=f"p50 {o['p50']:.1f} ms, p99 {o['p99']:.1f} ms, max {o['max']:.1f} ms",
                        target="< 50 ms", passed=o["p99"] < 50))
    elif "offline_error" in results:
        rows.append(Row("offline verdict in Chromium", engine, figures=results["offline_error"], passed=None))
    return rows


def main(argv=None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--offline-only", action="store_true", help="only the Chromium offline-verdict case (SQLite)")
    args = parser.parse_args(argv)
    if args.offline_only:
        with fresh_database("sqlite") as url:
            facts = seed_rally(url, 30_000, "Bench 30k")
            with Server("wsgi:app", workers=2, env=project_env(url), ready_path="/healthz") as srv:
                o = offline_verdicts(srv, facts)
        write_results("checkin_offline", [Row(f"offline verdict in Chromium ({o['scans']} scans, 30k synced)", "sqlite",
                                              figures=f"p50 {o['p50']:.1f} ms, p99 {o['p99']:.1f} ms, max {o['max']:.1f} ms",
                                              target="< 50 ms", passed=o["p99"] < 50)], title="Door: offline verdicts")
        return 0
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    rows = []
    for i, engine in enumerate(engines):
        rows += bench_engine(engine, args.duration, browser=not args.no_browser and i == 0)
    name = "checkin" if args.engine == "both" else f"checkin_{args.engine}"
    write_results(name, rows, title="Door check-in",
                  notes="pretix anchor (bench/results/pretix_anchor.md): about 20 req/s, p99 600 to 700 ms for "
                        "checkinrpc/redeem on this kind of machine. Each load: gunicorn 2 sync workers, 8 wrk "
                        "connections, fresh tickets and nonces, best of two runs. The offline verdict runs once "
                        "(it does not depend on the server's engine).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
