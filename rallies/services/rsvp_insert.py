"""A new RSVP's rows: the rally's counters, its supporter, the RSVP itself and its ticket email.

``new_rsvp_statement`` (PostgreSQL) does all of it in ONE autocommit statement of data-modifying
CTEs: it locks the rally row (SELECT .. FOR UPDATE, which re-reads the row's latest version
after any wait), decides going or waitlisted from the locked row, moves the counters, upserts
the supporter and inserts the RSVP and its outbox row. One statement is one round trip and its
own transaction, where the same work as separate statements costs six (BEGIN .. COMMIT): this
runs for every RSVP. When the email already has an RSVP to the rally, the INSERT fails on the
unique index (rally_id, email), so the whole statement fails and writes nothing, and the caller
falls back to the general path. No lookup first: repeats are rare, the index check is needed
anyway, and a lookup's plan can go wrong while the table's statistics are young (PostgreSQL
picked the (rally_id, changed_seq) index and filtered every RSVP of the rally by email).

``insert_new_rsvp`` is the general path's insert (every new RSVP on SQLite, where statements are
in-process and cost no round trips; repeats and organizer-added RSVPs on PostgreSQL), after its
counter UPDATE took the rally lock: one statement per row. The RSVP INSERT does nothing when this
email already has an RSVP to the rally (the unique index answers, under the lock), and ``None``
tells the caller to update that RSVP instead.
"""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import Rsvp
from . import mail, notices
from .supporters import supporter_for

rsvp_t = Rsvp.__table__
#: The RSVP columns a new RSVP sets (besides supporter_id, which SQL finds).
RSVP_COLUMNS = ("rally_id", "token_hash", "token_sealed", "name", "email", "phone", "postal_code", "door_name",
                "search_name", "guests", "status", "is_walkin", "checked_in_people", "opt_in", "opt_in_at", "utm_source", "utm_medium",
                "utm_campaign", "ref", "status_at", "reminder_answer", "created_at", "updated_at", "changed_seq")


def insert_new_rsvp(values: dict, *, campaign_id: int, title: str, reason: str) -> int | None:
    """Insert the RSVP (``values``: every RSVP_COLUMNS key), its supporter and its ticket email.

    Returns the new RSVP's id, or None when the email already has an RSVP to this rally (then only
    the supporter's details were refreshed, which the caller's update path does anyway).
    """
    supporter_id = supporter_for(campaign_id, values["email"], values["name"], values["phone"], values["postal_code"])
    dialect = db.session.get_bind().dialect.name
    rsvp_id = db.session.execute(_rsvp_insert(dialect), {**values, "supporter_id": supporter_id}).scalar()
    if rsvp_id is not None:
        notices.queue_ticket_email(rsvp_id, values["email"], reason, title)
    return rsvp_id


@lru_cache(maxsize=4)
def _rsvp_insert(dialect: str):
    """INSERT .. ON CONFLICT (rally_id, email) DO NOTHING RETURNING id. Built once per dialect."""
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(rsvp_t)
    values = {name: sa.bindparam(name, type_=rsvp_t.c[name].type) for name in RSVP_COLUMNS}
    return (insert.values(**values, supporter_id=sa.bindparam("supporter_id"))
            .on_conflict_do_nothing(index_elements=["rally_id", "email"]).returning(rsvp_t.c.id))


def new_rsvp_statement(values: dict, *, campaign_id: int, title: str) -> tuple[int, str] | None:
    """PostgreSQL only: the whole new RSVP in one autocommit statement; (rsvp id, status), None if the rally is gone.

    ``values`` holds every RSVP_COLUMNS key except status (the statement decides it) and a
    non-empty email. status_at is the clock when the row is written, after the lock: waitlist
    places follow it, so they follow the order in which RSVPs took the lock. Raises IntegrityError,
    having written nothing, when the email already has an RSVP to this rally.
    """
    params = {**values, "campaign_id": campaign_id, "people": values["guests"] + 1,
              "s_name": values["name"][:120], "s_phone": values["phone"][:32], "s_postal": values["postal_code"][:20],
              "message_id": mail.new_message_id("confirmation"), "now": values["created_at"],
              "subject_going": _subject("going", title), "subject_waitlisted": _subject("waitlisted", title)}
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        row = conn.execute(_ONE_STATEMENT, params).first()
    if row is None:
        return None
    mail.note_queued()
    return int(row.id), row.status


def _subject(reason: str, title: str) -> str:
    return " ".join(notices.SUBJECTS[reason].format(title=title).split())[:200]


_ONE_STATEMENT = sa.text("""
WITH lock AS (
    SELECT id, (capacity IS NULL OR going_people + :people <= capacity) AS fits
    FROM rally
    WHERE id = :rally_id
    FOR UPDATE
), cap AS (
    UPDATE rally SET
        going_people = rally.going_people + CASE WHEN lock.fits THEN :people ELSE 0 END,
        going_parties = rally.going_parties + CASE WHEN lock.fits THEN 1 ELSE 0 END,
        guests_count = rally.guests_count + CASE WHEN lock.fits THEN :guests ELSE 0 END,
        waitlisted_people = rally.waitlisted_people + CASE WHEN lock.fits THEN 0 ELSE :people END,
        waitlisted_parties = rally.waitlisted_parties + CASE WHEN lock.fits THEN 0 ELSE 1 END
    FROM lock WHERE rally.id = lock.id
    RETURNING CASE WHEN lock.fits THEN 'going' ELSE 'waitlisted' END AS status
), sup AS (
    INSERT INTO supporter (campaign_id, email, name, phone, postal_code, created_at)
    SELECT :campaign_id, :email, :s_name, :s_phone, :s_postal, :now FROM lock
    ON CONFLICT (campaign_id, email) DO UPDATE SET
        name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE supporter.name END,
        phone = CASE WHEN excluded.phone <> '' THEN excluded.phone ELSE supporter.phone END,
        postal_code = CASE WHEN excluded.postal_code <> '' THEN excluded.postal_code ELSE supporter.postal_code END
    RETURNING id
), ins AS (
    INSERT INTO rsvp (rally_id, supporter_id, token_hash, token_sealed, name, email, phone, postal_code, door_name,
                      search_name, guests, status, is_walkin, checked_in_people, opt_in, opt_in_at, utm_source,
                      utm_medium, utm_campaign, ref, status_at, reminder_answer, created_at, updated_at, changed_seq)
    SELECT :rally_id, (SELECT id FROM sup), :token_hash, :token_sealed, :name, :email, :phone, :postal_code,
           :door_name, :search_name, :guests, cap.status, false, 0, :opt_in, :opt_in_at, :utm_source, :utm_medium,
           :utm_campaign, :ref, clock_timestamp(), '', :created_at, :updated_at, :changed_seq
    FROM cap
    RETURNING id, status
), queued AS (
    INSERT INTO outbox_message (kind, message_id, to_addr, subject, body, render_as, render_params, rsvp_id, status,
                                attempts, next_attempt_at, claimed_at, claimed_by, sent_at, last_error, created_at)
    SELECT 'confirmation', :message_id, :email,
           CASE WHEN ins.status = 'going' THEN :subject_going ELSE :subject_waitlisted END,
           NULL, 'ticket', json_build_object('rsvp_id', ins.id, 'reason', ins.status), ins.id, 'pending',
           0, :now, NULL, '', NULL, '', :now
    FROM ins
)
SELECT id, status FROM ins
""")
