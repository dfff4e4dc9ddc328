"""What the database holds now: rows read fresh, queued mail, and counters recomputed from the rows.

Each read expires the session first, so it sees what other transactions (the services, requests
of the test client) committed, not objects the test still holds.
"""

from __future__ import annotations

import sqlalchemy as sa

from rallies.extensions import db
from rallies.models import Checkin, OutboxMessage, Rally, Rsvp, ScanLog


def fresh(model, ident):
    """The row as stored now."""
    db.session.expire_all()
    return db.session.get(model, ident)


def door_totals(door):
    """A door's (checked_in_people, walkin_people, ...): the sums of its arrival minutes, as the app reads them."""
    from rallies.rallies import counters

    (row,) = counters.door_totals(door.rally_id, door.id)
    return row


def rsvp_by_email(rally, email: str) -> Rsvp | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Rsvp).where(Rsvp.rally_id == rally.id, Rsvp.email == email))


def outbox(kind: str | None = None, to: str | None = None) -> list[OutboxMessage]:
    """Queued messages, oldest first (optionally of one kind, to one address)."""
    db.session.expire_all()
    q = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        q = q.where(OutboxMessage.kind == kind)
    if to:
        q = q.where(OutboxMessage.to_addr == to)
    return list(db.session.scalars(q))


def counts_from_rows(rally_id: int) -> dict:
    """The rally's RSVP counters worked out from its RSVP rows (to compare with the stored ones)."""
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Rsvp).where(Rsvp.rally_id == rally_id)).all()
    going = [r for r in rows if r.status == "going"]
    wait = [r for r in rows if r.status == "waitlisted"]
    return {
        "going_people": sum(r.party_size for r in going), "going_parties": len(going),
        "guests_count": sum(r.guests for r in going),
        "waitlisted_people": sum(r.party_size for r in wait), "waitlisted_parties": len(wait),
        "cancelled_parties": sum(1 for r in rows if r.status == "cancelled"),
    }


def stored_counts(rally_id: int) -> dict:
    """The rally's stored RSVP counters (the keys of counts_from_rows)."""
    rally = fresh(Rally, rally_id)
    return {k: getattr(rally, k) for k in counts_from_rows(rally_id)}


def scan_count(rally_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ScanLog).where(ScanLog.rally_id == rally_id))


def checkin_people(rally_id: int) -> int:
    """People in the rally's live (not undone) check-in rows."""
    return int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Checkin.people), 0))
                                 .where(Checkin.rally_id == rally_id, Checkin.undone_at.is_(None))))


def statements_sent(action, *, skip=("begin",)) -> list[str]:
    """The SQL statements an action sends, as their first three words in lower case (``skip`` prefixes left out)."""
    import sqlalchemy as sa

    from rallies.extensions import db

    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()[:3]).lower())

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    return [s for s in seen if not s.startswith(skip)]


def stored_rsvp(rsvp_id: int) -> Rsvp:
    """The RSVP as stored now."""
    return fresh(Rsvp, rsvp_id)


def stored_rally(rally_id: int) -> Rally:
    """The rally as stored now."""
    return fresh(Rally, rally_id)


def statuses(*rsvp_ids: int) -> list[str]:
    """The stored status of each RSVP, in the order given."""
    return [stored_rsvp(i).status for i in rsvp_ids]



def inside_from_rows(rally_id: int) -> int:
    """People inside worked out from the live check-in rows: entries and re-entries minus exits."""
    db.session.expire_all()
    signed = sa.case((Checkin.direction == "exit", -Checkin.people), else_=Checkin.people)
    return int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(signed), 0))
                                 .where(Checkin.rally_id == rally_id, Checkin.undone_at.is_(None))))
