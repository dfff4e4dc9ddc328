"""Small fixed turnout data written straight through the models, with consistent counters.

The RSVP and check-in services keep these counters in real life; here each helper sets them
by hand so the turnout tests can check tallies against numbers worked out on paper.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from rallies.database import atomic
from rallies.extensions import db
from rallies.keys.link_secrets import new_page_token
from rallies.models import ArrivalMinute, Checkin, Door, Rally, Rsvp

PAST = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)


def held(make_rally, campaign, *, going: int, rsvp_in: int, walkins: int = 0, days_ago: int = 30,
         starts_at: datetime | None = None, **fields) -> Rally:
    """A rally that already happened, with its counters set as the services leave them.

    ``going`` people had RSVPed; walk-in parties hold places too, so going_people counts them.
    """
    start = starts_at or datetime.now(UTC) - timedelta(days=days_ago)
    rally = make_rally(campaign, starts_at=start, **fields)
    with atomic():
        r = db.session.get(Rally, rally.id)
        r.going_people, r.going_parties = going + walkins, max(1, going // 2) if going else 0
        r.guests_count = going - r.going_parties
        r.checked_in_rsvp_people, r.walkin_people = rsvp_in, walkins
        r.checked_in_people = rsvp_in + walkins
    return rally


def add_door(rally: Rally, name: str, lanes: int = 1, checked_in: int = 0, walkins: int = 0) -> Door:
    """A door with its counters."""
    with atomic():
        door = Door(rally_id=rally.id, name=name, lanes=lanes, checked_in_people=checked_in, walkin_people=walkins)
        db.session.add(door)
    return door


def add_minutes(rally: Rally, door: Door | None, base: datetime, counts: dict[int, int]) -> None:
    """ArrivalMinute rows: {minute offset from base: people}."""
    with atomic():
        for offset, people in counts.items():
            db.session.add(ArrivalMinute(rally_id=rally.id, door_id=door.id if door else None,
                                         minute=base + timedelta(minutes=offset), people=people, walkins=0))


def add_rsvp(rally: Rally, name: str, *, postal_code: str = "60607", guests: int = 0, status: str = "going",
             checked_in: int = 0, email: str | None = None) -> Rsvp:
    """One RSVP row (counters on the rally are not touched)."""
    with atomic():
        rsvp = Rsvp(rally_id=rally.id, **new_page_token().columns(), name=name,
                    email=email or f"{secrets.token_hex(4)}@example.org", postal_code=postal_code, guests=guests,
                    status=status, checked_in_people=checked_in, door_name=name.split()[0] + " " + name.split()[-1][0] + ".")
        db.session.add(rsvp)
    return rsvp


def add_checkin(rally: Rally, door: Door | None, rsvp: Rsvp | None, people: int, at: datetime,
                walkin: bool = False) -> Checkin:
    """One check-in row."""
    with atomic():
        c = Checkin(rally_id=rally.id, door_id=door.id if door else None, rsvp_id=rsvp.id if rsvp else None,
                    people=people, is_walkin=walkin, admitted_at=at, device_name="Phone 1")
        db.session.add(c)
    return c
