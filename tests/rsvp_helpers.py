"""Helpers shared by the RSVP, ticket, mail and waitlist tests."""

from __future__ import annotations

import re

import sqlalchemy as sa

from rallies.extensions import db
from rallies.models import OutboxMessage, Rally, Rsvp


def rsvp_post(client, rally, **fields):
    """POST the RSVP form like a browser would (defaults fill the required fields)."""
    data = {"name": "Ana López", "email": "ana@example.org", "guests": "0"}
    data.update({k: str(v) for k, v in fields.items()})
    return client.post(f"/r/{rally.slug}/rsvp", data=data)


def token_from(response) -> str:
    """The ticket token from a redirect to /t/<token>."""
    match = re.search(r"/t/([A-Za-z0-9_\-]{43})", response.headers.get("Location", ""))
    assert match, response.headers.get("Location")
    return match.group(1)


def rsvp_by_email(rally, email):
    db.session.expire_all()
    return db.session.scalar(sa.select(Rsvp).where(Rsvp.rally_id == rally.id, Rsvp.email == email))


def fresh_rally(rally_id) -> Rally:
    db.session.expire_all()
    return db.session.get(Rally, rally_id)


def outbox(kind=None, to=None):
    db.session.expire_all()
    q = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        q = q.where(OutboxMessage.kind == kind)
    if to:
        q = q.where(OutboxMessage.to_addr == to)
    return list(db.session.scalars(q))


def counts_from_rows(rally_id) -> dict:
    """Counters recomputed from the RSVP rows (to compare with the stored ones)."""
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


def stored_counts(rally_id) -> dict:
    rally = fresh_rally(rally_id)
    return {k: getattr(rally, k) for k in counts_from_rows(rally_id)}
