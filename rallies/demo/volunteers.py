"""Demo volunteer shifts: the next upcoming demo rally gets shifts at two doors, some of them partly filled.

Deterministic and idempotent: a rally that already has shifts is left alone. Volunteers sign up through
the sign-up service, so their door links and confirmation emails are the ones production makes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import sqlalchemy as sa

from ..door import doors as door_service
from ..extensions import db
from ..models import Door, Rally, Shift, utcnow
from ..rallies.lifecycle import local_naive
from ..volunteers.shifts import ShiftInput, create_shift
from ..volunteers.signups import VolunteerInput, sign_up

#: (door, hours from doors-open to the start, length in hours, places, role, volunteers signed up).
PLAN = [
    ("North gate", 0, 2, 4, "scanner", 3),
    ("North gate", 2, 2, 4, "scanner", 1),
    ("North gate", 0, 4, 1, "supervisor", 1),
    ("South gate", 0, 2, 3, "scanner", 3),
    ("South gate", 2, 2, 3, "scanner", 0),
]
NAMES = ["Marisol Vega", "Dev Patel", "Hannah Okafor", "Tomás Ruiz", "Grace Liu", "Sam Whitfield", "Imani Brooks",
         "Pedro Alves", "Lena Novak"]


def load() -> Iterator[str]:
    """Give the next upcoming demo rally its shifts and some volunteers."""
    from .accounts import demo_campaign

    campaign = demo_campaign()
    if campaign is None:
        return
    rally = db.session.scalar(sa.select(Rally).where(
        Rally.campaign_id == campaign.id, Rally.starts_at > utcnow() + timedelta(hours=1),
        Rally.status == "scheduled").order_by(Rally.starts_at, Rally.id).limit(1))
    if rally is None or not rally.is_public:
        return
    if db.session.scalar(sa.select(Shift.id).where(Shift.rally_id == rally.id).limit(1)) is not None:
        return
    doors = {d.name: d for d in db.session.scalars(sa.select(Door).where(Door.rally_id == rally.id))}
    opens = local_naive(rally.doors_open_at or rally.starts_at, rally.timezone).replace(second=0, microsecond=0)
    names = iter(NAMES)
    signed = 0
    for door_name, offset, hours, places, role, taken in PLAN:
        door = doors.get(door_name) or door_service.create_door(rally, door_name, lanes=2)
        doors[door_name] = door
        start = opens + timedelta(hours=offset)
        shift = create_shift(rally, ShiftInput(door.id, start, start + timedelta(hours=hours), places, role,
                                               "Bring a charged phone." if role == "scanner" else ""))
        for _ in range(taken):
            name = next(names)
            email = name.lower().replace(" ", ".").replace("á", "a").replace("ó", "o") + "@example.org"
            sign_up(rally, shift.id, VolunteerInput(name, email, "+13125550100"))
            signed += 1
    yield f"Demo volunteers: {len(PLAN)} shifts for “{rally.title}”, {signed} volunteers signed up."
