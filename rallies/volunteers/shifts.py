"""Shifts: which door needs how many volunteers, when, in which role.

Times are entered as wall-clock times in the rally's zone and stored in UTC. A shift's door links
(one per volunteer, made at sign-up) open the scanner from LINK_MARGIN before its start to
LINK_MARGIN after its end, so a change of times moves every link of the shift with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext, ngettext

from ..database import atomic
from ..door.doors import DOOR_ROLES
from ..extensions import db
from ..models import Door, DoorLink, Rally, Shift, VolunteerSignup, utcnow
from ..models.volunteers import SIGNUP_ACTIVE
from ..rallies.lifecycle import RallyInvalid, to_utc, zone

#: A volunteer's door link opens this long before the shift starts and closes this long after it ends.
LINK_MARGIN = timedelta(minutes=30)
#: Volunteers are reminded this long before their shift, and again SOON before it (volunteers/reminders.py).
DAY_BEFORE = timedelta(hours=24)
SOON = timedelta(hours=2)
#: The most volunteers one shift takes (a typo guard, not a policy).
MAX_SLOTS = 500


class ShiftError(Exception):
    """A shift the rules refuse; ``field`` names the form field to show it on."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


@dataclass
class ShiftInput:
    """A shift as the organizer entered it (times are naive wall-clock times in the rally's zone)."""

    door_id: int
    starts_local: datetime
    ends_local: datetime
    slots: int
    role: str
    notes: str = ""


def link_window(shift: Shift) -> tuple[datetime, datetime]:
    """When the shift's volunteer links open the scanner: (not before, expires at)."""
    return shift.starts_at - LINK_MARGIN, shift.ends_at + LINK_MARGIN


def _checked(rally: Rally, data: ShiftInput) -> tuple[datetime, datetime, str]:
    """(starts, ends, notes) in UTC after the rules, or ShiftError."""
    door = db.session.get(Door, data.door_id) if data.door_id else None
    if door is None or door.rally_id != rally.id:
        raise ShiftError(gettext("Choose one of this rally's doors."), "door_id")
    if data.role not in DOOR_ROLES:
        raise ShiftError(gettext("Choose scanner or supervisor."), "role")
    if isinstance(data.slots, bool) or not isinstance(data.slots, int) or not 1 <= data.slots <= MAX_SLOTS:
        raise ShiftError(gettext("A shift needs between 1 and %(max)s volunteers.", max=MAX_SLOTS), "slots")
    try:
        tz = zone(rally.timezone)
        starts = to_utc(data.starts_local, tz, "starts_local")
        ends = to_utc(data.ends_local, tz, "ends_local")
    except RallyInvalid as err:
        raise ShiftError(err.message, err.field or "starts_local") from None
    if ends <= starts:
        raise ShiftError(gettext("The end must be after the start."), "ends_local")
    if ends - starts > timedelta(hours=24):
        raise ShiftError(gettext("A shift lasts at most 24 hours."), "ends_local")
    return starts, ends, (data.notes or "").strip()[:500]


def create_shift(rally: Rally, data: ShiftInput) -> Shift:
    """Add a shift to the rally."""
    with atomic():
        starts, ends, notes = _checked(rally, data)
        shift = Shift(rally_id=rally.id, door_id=data.door_id, starts_at=starts, ends_at=ends, slots=data.slots,
                      filled=0, role=data.role, notes=notes)
        db.session.add(shift)
        db.session.flush()
        return shift


def update_shift(shift: Shift, data: ShiftInput) -> Shift:
    """Change a shift. With volunteers signed up its door and role stay (their links are for them), its slots
    stay at least the volunteers signed up, and their links move with its times."""
    rally = db.session.get(Rally, shift.rally_id)
    with atomic():
        starts, ends, notes = _checked(rally, data)
        # Lock the shift row first, as sign-ups do, so "filled" cannot move under this check.
        filled = db.session.scalar(sa.select(Shift.filled).where(Shift.id == shift.id).with_for_update())
        if filled and (data.door_id != shift.door_id or data.role != shift.role):
            raise ShiftError(gettext("Volunteers have signed up for this shift, so its door and role cannot change. "
                                     "Add a new shift instead."), "door_id")
        if data.slots < filled:
            raise ShiftError(ngettext("%(num)d volunteer has signed up already: keep at least that many places.",
                                      "%(num)d volunteers have signed up already: keep at least that many places.",
                                      filled), "slots")
        moved = starts != shift.starts_at
        shift.door_id, shift.role, shift.slots, shift.notes = data.door_id, data.role, data.slots, notes
        shift.starts_at, shift.ends_at = starts, ends
        if moved:  # its volunteers are reminded again, of the new time
            db.session.execute(sa.update(VolunteerSignup).where(VolunteerSignup.shift_id == shift.id)
                               .values(reminded_day_at=None, reminded_soon_at=None))
        not_before, expires = link_window(shift)
        links = sa.select(VolunteerSignup.link_id).where(VolunteerSignup.shift_id == shift.id,
                                                         VolunteerSignup.link_id.is_not(None))
        db.session.execute(sa.update(DoorLink).where(DoorLink.id.in_(links))
                           .values(not_before=not_before, expires_at=expires))
        return shift


def delete_shift(shift: Shift) -> int:
    """Delete a shift; its volunteers' door links are revoked at once. Returns how many volunteers it had."""
    with atomic():
        links = sa.select(VolunteerSignup.link_id).where(VolunteerSignup.shift_id == shift.id,
                                                         VolunteerSignup.link_id.is_not(None))
        db.session.execute(sa.update(DoorLink).where(DoorLink.id.in_(links), DoorLink.revoked_at.is_(None))
                           .values(revoked_at=utcnow()))
        had = db.session.scalar(sa.select(sa.func.count()).select_from(VolunteerSignup).where(
            VolunteerSignup.shift_id == shift.id, VolunteerSignup.status == SIGNUP_ACTIVE)) or 0
        db.session.delete(shift)
        return had


def shifts_of(rally_id: int) -> list[Shift]:
    """The rally's shifts, soonest first, then by door."""
    return list(db.session.scalars(sa.select(Shift).where(Shift.rally_id == rally_id)
                                   .order_by(Shift.starts_at, Shift.door_id, Shift.id)))


def open_shifts(rally_id: int, now: datetime | None = None) -> list[Shift]:
    """Shifts a volunteer can still take: not over, with a free place."""
    now = now or utcnow()
    return list(db.session.scalars(sa.select(Shift).where(
        Shift.rally_id == rally_id, Shift.ends_at > now, Shift.filled < Shift.slots)
        .order_by(Shift.starts_at, Shift.door_id, Shift.id)))


def has_upcoming_shifts(rally_id: int, now: datetime | None = None) -> bool:
    """True if the rally has a shift that is not over (the rally page then links the volunteer page)."""
    now = now or utcnow()
    return db.session.scalar(sa.select(Shift.id).where(Shift.rally_id == rally_id, Shift.ends_at > now).limit(1)) is not None
