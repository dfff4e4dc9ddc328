"""The roster: each shift's filled and open places, its volunteers, who opened their link and who is scanning now."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..csvsafe import csv_rows
from ..dates import local_time
from ..extensions import db
from ..models import Door, DoorSession, Shift, UTCDateTime, VolunteerSignup, utcnow
from ..models.volunteers import SIGNUP_ACTIVE

#: A volunteer whose device was seen this recently is "scanning now" (door sessions note last_seen_at
#: at most once a minute, doors.LAST_SEEN_EVERY).
SCANNING_NOW = timedelta(minutes=5)


@dataclass
class Volunteer:
    signup_id: int
    link_id: int | None
    name: str
    email: str
    phone: str
    opened: bool
    last_seen: datetime | None
    scanning: bool


@dataclass
class RosterShift:
    shift: Shift
    door: str
    volunteers: list[Volunteer] = field(default_factory=list)

    @property
    def filled(self) -> int:
        return len(self.volunteers)

    @property
    def open(self) -> int:
        return max(0, self.shift.slots - self.filled)


def roster(rally_id: int, now: datetime | None = None) -> list[RosterShift]:
    """Every shift of the rally (soonest first) with its active volunteers and their door devices' state."""
    now = now or utcnow()
    shifts = db.session.execute(sa.select(Shift, Door.name).join(Door, Door.id == Shift.door_id)
                                .where(Shift.rally_id == rally_id).order_by(Shift.starts_at, Door.name, Shift.id)).all()
    out = {shift.id: RosterShift(shift, door) for shift, door in shifts}
    # One row per volunteer: did any device open their link, and when was one last seen (a live session).
    seen = (sa.select(DoorSession.link_id, sa.func.count().label("devices"),
                      sa.type_coerce(sa.func.max(sa.case((DoorSession.revoked_at.is_(None), DoorSession.last_seen_at))),
                                     UTCDateTime).label("last"))
            .group_by(DoorSession.link_id).subquery())
    rows = db.session.execute(
        sa.select(VolunteerSignup.id, VolunteerSignup.link_id, VolunteerSignup.shift_id, VolunteerSignup.name, VolunteerSignup.email,
                  VolunteerSignup.phone, seen.c.devices, seen.c.last)
        .outerjoin(seen, seen.c.link_id == VolunteerSignup.link_id)
        .where(VolunteerSignup.rally_id == rally_id, VolunteerSignup.status == SIGNUP_ACTIVE)
        .order_by(VolunteerSignup.created_at, VolunteerSignup.id))
    for row in rows:
        last = row.last
        out[row.shift_id].volunteers.append(Volunteer(
            row.id, row.link_id, row.name, row.email, row.phone, bool(row.devices), last,
            last is not None and now - last <= SCANNING_NOW))
    return list(out.values())


def door_totals(items: list[RosterShift]) -> list[tuple[str, int, int]]:
    """(door, places filled, places) over every shift at each door, by door name."""
    totals: dict[str, list[int]] = {}
    for item in items:
        done = totals.setdefault(item.door, [0, 0])
        done[0] += item.filled
        done[1] += item.shift.slots
    return [(door, filled, slots) for door, (filled, slots) in sorted(totals.items())]


def roster_csv(rally_id: int, tz_name: str):
    """The roster as CSV lines (one row per volunteer, and one per open place), spreadsheet-safe."""
    header = ["Shift starts", "Shift ends", "Door", "Role", "Volunteer", "Email", "Phone", "Opened link",
              "Scanning now"]

    def rows():
        for item in roster(rally_id):
            when = (local_time(item.shift.starts_at, tz_name), local_time(item.shift.ends_at, tz_name))
            for v in item.volunteers:
                yield [*when, item.door, item.shift.role, v.name, v.email, v.phone, v.opened, v.scanning]
            for _ in range(item.open):
                yield [*when, item.door, item.shift.role, "(open)", "", "", "", ""]

    return csv_rows(header, rows())
