"""Helpers for the door tests: tickets, doors and door sessions made straight in the database."""

from __future__ import annotations

import uuid
from datetime import timedelta

from rallies.database import atomic
from rallies.door import doors
from rallies.extensions import db
from rallies.keys.link_secrets import new_page_token
from rallies.models import Rsvp, utcnow
from rallies.rsvp.tickets import ticket_code


def make_ticket(rally, name="Ana María López", guests=0, status="going", email=None) -> tuple[Rsvp, str]:
    """An RSVP of the rally and its signed code."""
    from rallies.rsvp.rsvps import door_name, search_text

    email = email or f"{uuid.uuid4().hex[:10]}@example.org"
    with atomic():
        rsvp = Rsvp(rally_id=rally.id, **new_page_token().columns(), name=name, email=email,
                    door_name=door_name(name), search_name=search_text(name), guests=guests, status=status)
        db.session.add(rsvp)
        db.session.flush()
        rsvp_id = rsvp.id
    return db.session.get(Rsvp, rsvp_id), ticket_code(rally, rsvp_id)


def bulk_tickets(rally, n: int) -> list[tuple[int, str]]:
    """n going single tickets inserted in one statement; [(id, code)]."""
    rows = [dict(rally_id=rally.id, **new_page_token().columns(), name=f"Person {i}", email=f"p{i}-{rally.id}@example.org",
                 door_name=f"Person {i % 10}.", search_name=f"person {i}", guests=0, status="going", created_at=utcnow(),
                 updated_at=utcnow(), status_at=utcnow()) for i in range(n)]
    with atomic():
        db.session.execute(Rsvp.__table__.insert(), rows)
    ids = list(db.session.scalars(db.select(Rsvp.id).where(Rsvp.rally_id == rally.id).order_by(Rsvp.id)))
    return [(i, ticket_code(rally, i)) for i in ids]


def make_door(rally, name="North gate"):
    with atomic():
        door = doors.create_door(rally, name)
    return door


def door_session(door, role="scanner", device="Phone 1", hours=4) -> tuple[doors.DoorContext, str, int]:
    """(DoorContext, session secret, link id) for a device that opened a fresh link."""
    with atomic():
        link, link_secret = doors.create_link(door, role, utcnow() + timedelta(hours=hours))
        _session, secret = doors.open_link(link_secret, device)
        link_id = link.id
    return doors.authenticate(secret, door.id), secret, link_id


def nonce() -> str:
    return uuid.uuid4().hex


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}
