"""The rule tests' names for tests/factories.py and tests/stored.py (kept while rule tests still import them)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from rallies.database import atomic
from rallies.extensions import db
from rallies.models import Rally, Rsvp, utcnow
from tests import factories
from tests.factories import AtDoor, nonce  # noqa: F401  (the rule tests import them from here)
from tests.stored import checkin_people, fresh, scan_count  # noqa: F401  (likewise)


def live(**fields) -> dict:
    """Rally fields for a rally whose doors are open now (it starts in 30 minutes)."""
    fields.setdefault("starts_at", utcnow() + timedelta(minutes=30))
    return fields


def rsvp(rally, guests: int = 0, email: str | None = None, name: str = "Ana López"):
    """RSVP through the service (factories.make_rsvp); returns (rsvp id, outcome)."""
    result = factories.make_rsvp(rally, name=name, email=email, guests=guests)
    return result.rsvp_id, result.outcome


def row(rsvp_id: int) -> Rsvp:
    """The RSVP as stored now."""
    return fresh(Rsvp, rsvp_id)


def rally_now(rally_id: int) -> Rally:
    """The rally as stored now."""
    return fresh(Rally, rally_id)


def statuses(*rsvp_ids: int) -> list[str]:
    """The stored status of each RSVP, in the order given."""
    return [row(i).status for i in rsvp_ids]


def set_status_at(rsvp_id: int, moment) -> None:
    """Backdate when a party joined its queue (the waitlist order key)."""
    with atomic():
        db.session.execute(sa.update(Rsvp).where(Rsvp.id == rsvp_id).values(status_at=moment))


def at_door(make_rally, campaign, **fields) -> AtDoor:
    """factories.at_door (make_rally is the conftest fixture, which is factories.make_rally)."""
    return factories.at_door(campaign, **fields)
