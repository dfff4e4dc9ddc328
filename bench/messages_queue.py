"""Queueing one organizer message to 30,000 recipients (issue 13): one INSERT ... SELECT per channel.

    python -m bench.messages_queue --engine sqlite        (or postgresql, or both)
    BENCH_DATABASE_URL=postgresql://... python -m bench.messages_queue   (an existing, empty-schema database)

Measured around ``queueing.queue_message`` only (the recipients are loaded before): wall time,
this process's CPU (time.process_time: all of SQLite's work, the Python side on PostgreSQL), the
PostgreSQL backend's CPU (/proc of pg_backend_pid(), the server runs on this machine), and the
peak Python memory allocated during the call (tracemalloc). Each size is a fresh rally in the
same database; the message goes by email and SMS ("both"), so 2 rows per recipient who consented
to SMS (every other one here). Budget: < 5 s for 30,000 recipients, and peak memory flat: at
30,000 no more than 1.5 times that at 3,000 (a loop over recipients would grow 10 times).
"""

from __future__ import annotations

import argparse
import os
import random
import time
import tracemalloc
from pathlib import Path

import sqlalchemy as sa

from bench.harness import BENCH_TICKET_KEK, Row, create_schema, engine_of, fresh_database, write_results

#: BENCH_SIZES="30,300" for a smoke run of the script itself (not of record).
SIZES = tuple(int(x) for x in os.environ.get("BENCH_SIZES", "3000,30000").split(","))
BUDGET_S = 5.0
FLAT = 1.5


def _app(url: str):
    from config import Config
    from rallies import create_app

    return create_app(Config, SQLALCHEMY_DATABASE_URI=url, SECRET_KEY="bench-" + str(random.random()),
                      TICKET_KEK=BENCH_TICKET_KEK, RATELIMIT_ENABLED=False, LOG_LEVEL="WARNING",
                      BASE_URL="http://127.0.0.1", MAIL_FROM="Rallies <rallies@bench.example>")


def _recipients(owner, n: int):
    """A rally with n going RSVPs and their supporters (half consented to SMS), written set-based."""
    from datetime import timedelta

    from rallies.database import atomic
    from rallies.extensions import db
    from rallies.models import Campaign, Rally, Rsvp, Supporter, utcnow

    now = utcnow()
    with atomic():
        campaign = db.session.get(Campaign, owner.campaign_id)
        rally = Rally(campaign_id=campaign.id, title=f"Bench {n}", slug=f"bench-{n}-{random.randrange(10**9)}",
                      starts_at=now + timedelta(days=7), ends_at=now + timedelta(days=7, hours=2),
                      timezone="America/Chicago", visibility="listed", status="scheduled")
        db.session.add(rally)
        db.session.flush()
        tag = f"r{rally.id}"
        db.session.execute(Supporter.__table__.insert(), [
            {"campaign_id": campaign.id, "email": f"{tag}-{i}@bench.example", "name": f"Person {i}",
             "phone": f"+1312555{i:04d}"[:12] if i % 2 else "", "sms_opt_in_at": now if i % 2 else None,
             "created_at": now} for i in range(n)])
        s = Supporter.__table__
        cols = ["rally_id", "supporter_id", "token_hash", "token_sealed", "name", "email", "email_key", "status",
                "door_name", "search_name", "created_at", "updated_at", "status_at"]
        select = sa.select(
            sa.literal(rally.id), s.c.id, sa.literal("b") + sa.cast(s.c.id, sa.String), sa.literal(b"", sa.LargeBinary),
            s.c.name, s.c.email, s.c.email, sa.literal("going"), s.c.name, sa.func.lower(s.c.name),
            sa.literal(now, Rsvp.__table__.c.created_at.type), sa.literal(now, Rsvp.__table__.c.created_at.type),
            sa.literal(now, Rsvp.__table__.c.created_at.type),
        ).where(s.c.email.like(f"{tag}-%"))
        db.session.execute(Rsvp.__table__.insert().from_select(cols, select))
    return rally


def _backend_ticks(session) -> int | None:
    """CPU ticks so far of this session's PostgreSQL backend (None on SQLite or without /proc)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    pid = session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def measure(url: str) -> list[Row]:
    from rallies.auth.accounts import create_user
    from rallies.database import atomic
    from rallies.extensions import db
    from rallies.messaging import compose, queueing
    from rallies.models import Membership, OutboxMessage

    engine = engine_of(url)
    app = _app(url)
    rows, peaks = [], {}
    tick = os.sysconf("SC_CLK_TCK")
    with app.app_context():
        with atomic():
            user = create_user(f"bench-{random.randrange(10**9)}@bench.example", "correct horse battery staple",
                               name="Bench", campaign_name="Bench campaign")
        user.campaign_id = db.session.scalar(sa.select(Membership.campaign_id).where(Membership.user_id == user.id))
        # A first, unrecorded run of 10 pays for statement compilation and imports, so they do not
        # inflate the smaller size's peak and flatter the ratio.
        for n in (10, *SIZES):
            rally = _recipients(user, n)
            message = compose.create_message(rally, user, compose.Draft(
                segment="going", channel="both", subject="Doors at 5", body="Bring water.", sms_body="Doors at 5"))
            db.session.rollback()
            before_db = _backend_ticks(db.session())
            tracemalloc.start()
            t0, c0 = time.perf_counter(), time.process_time()
            written = queueing.queue_message(message, user)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            after_db = _backend_ticks(db.session())
            stored = db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.campaign_message_id == message.id))
            assert written == stored == n + n // 2, (written, stored)
            if n == 10:
                continue
            peaks[n] = peak
            db_cpu = f", database CPU {(after_db - before_db) / tick:.2f} s" if before_db is not None else ""
            figures = (f"{n:,} recipients -> {written:,} outbox rows: wall {wall:.2f} s, process CPU {cpu:.2f} s"
                       f"{db_cpu}, peak Python memory {peak / 1024:,.0f} KiB")
            big = n == max(SIZES)
            rows.append(Row(case=f"queue one message, email + SMS, {n:,} recipients", engine=engine, figures=figures,
                            target=f"< {BUDGET_S:.0f} s" if big else "", passed=(wall < BUDGET_S) if big else None))
    ratio = peaks[max(SIZES)] / peaks[min(SIZES)]
    rows.append(Row(case=f"peak memory, {max(SIZES):,} vs {min(SIZES):,} recipients", engine=engine,
                    figures=f"ratio {ratio:.2f}", target=f"<= {FLAT}", passed=ratio <= FLAT))
    with app.app_context():
        db.engine.dispose()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    rows = []
    if os.environ.get("BENCH_DATABASE_URL"):
        url = os.environ["BENCH_DATABASE_URL"]
        create_schema(url)
        rows += measure(url)
    else:
        for engine in (("sqlite", "postgresql") if args.engine == "both" else (args.engine,)):
            with fresh_database(engine) as url:
                rows += measure(url)
    write_results("messages_queue", rows, title="Messages: queueing one message to 30,000 recipients",
                  notes="Measured in-process around messaging.queueing.queue_message (the conditional UPDATE and "
                        "one INSERT ... SELECT per channel, one transaction). Process CPU includes SQLite's work; "
                        "on PostgreSQL the backend's CPU is read from /proc. Peak memory: tracemalloc during the call.")
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
