"""Helpers for the rule tests: rallies, RSVPs and door contexts made through the public services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from rallies.extensions import db
from rallies.models import Checkin, Rally, Rsvp, ScanLog, utcnow
from rallies.rsvp.rsvps import RsvpInput, create_or_update_rsvp


def live(**fields) -> dict:
    """Rally fields for a rally whose doors are open now (it starts in 30 minutes)."""
    fields.setdefault("starts_at", utcnow() + timedelta(minutes=30))
    return fields


def rsvp(rally, guests: int = 0, email: str | None = None, name: str = "Ana López"):
    """RSVP through the service; returns (rsvp id, outcome)."""
    email = email or f"{uuid.uuid4().hex[:10]}@example.org"
    result = create_or_update_rsvp(rally, RsvpInput(name=name, email=email, guests=guests))
    return result.rsvp_id, result.outcome


def row(rsvp_id: int) -> Rsvp:
    """The RSVP as stored now."""
    db.session.expire_all()
    return db.session.get(Rsvp, rsvp_id)


def rally_now(rally_id: int) -> Rally:
    """The rally as stored now."""
    db.session.expire_all()
    return db.session.get(Rally, rally_id)


def statuses(*rsvp_ids: int) -> list[str]:
    """The stored status of each RSVP, in the order given."""
    return [row(i).status for i in rsvp_ids]


def set_status_at(rsvp_id: int, moment) -> None:
    """Backdate when a party joined its queue (the waitlist order key)."""
    from rallies.database import atomic

    with atomic():
        db.session.execute(sa.update(Rsvp).where(Rsvp.id == rsvp_id).values(status_at=moment))


def scan_count(rally_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ScanLog).where(ScanLog.rally_id == rally_id))


def checkin_people(rally_id: int) -> int:
    """People in the rally's live (not undone) check-in rows."""
    return int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Checkin.people), 0))
                                 .where(Checkin.rally_id == rally_id, Checkin.undone_at.is_(None))))


def nonce() -> str:
    return uuid.uuid4().hex


@dataclass
class AtDoor:
    """A live rally with one door, a scanner and a supervisor device."""

    rally: Rally
    door: object
    scanner: object
    supervisor: object


def at_door(make_rally, campaign, **fields) -> AtDoor:
    """A rally whose doors are open now, with a door, a scanner and a supervisor."""
    from doorkit import door_session, make_door

    rally = make_rally(campaign, **live(**fields))
    door = make_door(rally)
    scanner, _secret, _link = door_session(door, device="Phone 1")
    supervisor, _secret, _link = door_session(door, role="supervisor", device="Phone 2")
    return AtDoor(rally, door, scanner, supervisor)
