"""SMS outbox: queued texts through the real twilio client to the local stand-in, at a set rate, none twice.

    python -m bench.sms_outbox --engine sqlite        (or postgresql, or both)

Per engine, three cases of N opted-in RSVPs with their ticket texts queued: one sender at a fifth
of --rate, one sender at --rate texts/s, and two senders at once, each at half of --rate (SMS_RATE_PER_SECOND
is per sender: with several workers set it to the account's rate divided by their number). The
stand-in (tests/sms/twilio_standin.py) records every request; the figures come from its records:
the rate achieved (requests over the time from first to last), the most requests in any one-second
window, and how many rows were accepted more than once (by To and Body, unique per row). CPU is this
process's (senders, client and stand-in together) per text.
"""

from __future__ import annotations

import argparse
import os
import secrets
import threading
import time
from collections import Counter

from bench.harness import BENCH_TICKET_KEK, Row, fresh_database, write_results


def _app(url: str, standin, rate: float):
    from config import Config
    from rallies import create_app
    from tests.sms.conftest import twilio_config

    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url, SECRET_KEY="bench-" + secrets.token_hex(16),
                     TICKET_KEK=BENCH_TICKET_KEK, LOG_LEVEL="WARNING", BASE_URL="https://rallies.example.org",
                     **twilio_config(standin.base_url))
    app.config.update(SMS_RATE_PER_SECOND=rate, SMS_TIMEOUT=10)
    import logging

    logging.getLogger().setLevel(logging.WARNING)
    return app


def _queue_texts(app, n: int, offset: int) -> None:
    """n RSVPs whose supporters agreed to texts, each with its ticket text queued (numbers +1415555xxxx)."""
    import sqlalchemy as sa

    from rallies.database import atomic
    from rallies.extensions import db
    from rallies.models import Rsvp, Supporter, utcnow
    from rallies.sms.queue import queue_ticket_sms
    from tests.factories import insert_rsvps, make_campaign, make_rally

    with app.app_context():
        campaign = make_campaign(f"Bench {offset}")
        rally = make_rally(campaign, title="Bench rally")
        ids = insert_rsvps(rally, n)
        now = utcnow()
        with atomic():
            for i, rsvp_id in enumerate(ids):
                phone = f"+1415555{1000 + offset + i:04d}"
                supporter_id = db.session.execute(sa.insert(Supporter).values(
                    campaign_id=campaign.id, email=f"s{offset + i}@example.org", name="S", phone=phone,
                    sms_opt_in_at=now, sms_consent_text="I agree", sms_consent_ip="127.0.0.1",
                    created_at=now).returning(Supporter.id)).scalar_one()
                db.session.execute(sa.update(Rsvp).where(Rsvp.id == rsvp_id).values(supporter_id=supporter_id))
                queue_ticket_sms(rsvp_id, phone, "going")
        db.session.remove()


def _run(app, senders: int, n: int) -> tuple[float, float, list[int]]:
    """Run ``senders`` senders until the queue is empty; (wall s, CPU s, texts each sent)."""
    from rallies.sms.delivery import deliver_pending_sms

    sent: list[int] = []
    threads = [threading.Thread(target=lambda i=i: sent.append(deliver_pending_sms(app, limit=n, sender=f"bench-{i}")))
               for i in range(senders)]
    t0, c0 = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, time.process_time() - c0, sent


def _figures(standin, since: int) -> tuple[float, int, int, int]:
    """(rate achieved, most in one second, rows sent twice or more, requests) of the requests after ``since``."""
    with standin.lock:
        got = standin.received[since:]
    times = sorted(r.at for r in got)
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    most, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        most = max(most, i - j + 1)
    per_row = Counter((r.form.get("To"), r.form.get("Body")) for r in got if r.status == 201)
    return rate, most, sum(1 for c in per_row.values() if c > 1), len(got)


def bench(engine: str, n: int, rate: float) -> list[Row]:
    from tests.sms.twilio_standin import TwilioStandIn

    rows = []
    with fresh_database(engine) as url, TwilioStandIn() as standin:
        cases = ((f"{rate / 5:g}/s", rate / 5, 1), (f"{rate:g}/s", rate, 1), (f"{rate:g}/s in all", rate, 2))
        for k, (case, case_rate, senders) in enumerate(cases):
            app = _app(url, standin, case_rate / senders)
            _queue_texts(app, n, offset=k * n)
            before = len(standin.received)
            wall, cpu, each = _run(app, senders, n)
            sent = sum(each)
            achieved, most, twice, requests = _figures(standin, before)
            # Each sender keeps its own pace: in any second at most rate/senders + 1 each.
            ok = sent == n and requests == n and twice == 0 and most <= case_rate + senders
            rows.append(Row(
                case=f"{n} texts, {senders} sender{'s at once' if senders > 1 else ''}, {case}", engine=engine,
                passed=ok, target=f"all {n} sent, none twice; <= {case_rate:g}+{senders} in any 1 s",
                figures=(f"sent {sent} ({' + '.join(map(str, each))}), requests {requests}, rows sent twice {twice}; {achieved:.1f}/s achieved, "
                         f"at most {most} in 1 s; {wall:.1f} s; CPU {1000 * cpu / max(1, sent):.2f} ms/text"),
            ))
            with app.app_context():
                from rallies.extensions import db

                db.session.remove()
                db.engine.dispose()
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--texts", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--quick", action="store_true", help="100 texts")
    args = parser.parse_args(argv)
    n = 100 if args.quick else args.texts
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    rows = [row for engine in engines for row in bench(engine, n, args.rate)]
    load = os.getloadavg()[0]
    write_results("sms_outbox", rows, title="SMS outbox: rate kept, no text sent twice",
                  notes=__doc__.split("\n\n", 2)[2] + f"\nLoad average (1 min) at the end: {load:.1f} on "
                  f"{os.cpu_count()} cores. The rate achieved is below the set rate when each text's own cost "
                  "(two committed UPDATEs and one HTTP exchange) exceeds its slot on a busy machine; the pacer "
                  "never makes up for lost slots with a burst.")
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
