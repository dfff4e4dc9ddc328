"""One volunteer's arrival curve: the check-ins made by the devices their own door link opened.

A check-in row names the scan that made it (Checkin.scan_id), the scan names its device's door
session (ScanLog.session_id) and the session the link it was opened with (DoorSession.link_id), so
a volunteer's admissions are one grouped query over the rally's check-ins (by ix_checkin_rally_time,
then primary keys). ArrivalMinute has no device, which is why the whole-rally curve never needs this.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa

from ..database import utc_minute
from ..extensions import db
from ..models import Checkin, Door, DoorSession, ScanLog, Shift, VolunteerSignup
from ..models.door import DIRECTION_ENTRY
from . import tallies


@dataclass
class ScanningVolunteer:
    """A volunteer (one sign-up) whose devices made check-ins at the rally."""

    signup_id: int
    name: str
    door: str
    shift_starts_at: datetime


def scanning_volunteers(rally_id: int) -> list[ScanningVolunteer]:
    """The rally's volunteers whose devices checked anyone in or out, by name (cancelled sign-ups too: their
    scans still count)."""
    links = (sa.select(DoorSession.link_id)
             .join(ScanLog, ScanLog.session_id == DoorSession.id)
             .join(Checkin, Checkin.scan_id == ScanLog.id)
             .where(Checkin.rally_id == rally_id, DoorSession.rally_id == rally_id, DoorSession.link_id.is_not(None)))
    rows = db.session.execute(
        sa.select(VolunteerSignup.id, VolunteerSignup.name, Door.name, Shift.starts_at)
        .join(Shift, Shift.id == VolunteerSignup.shift_id).join(Door, Door.id == Shift.door_id)
        .where(VolunteerSignup.rally_id == rally_id, VolunteerSignup.link_id.in_(links))
        .order_by(sa.func.lower(VolunteerSignup.name), Shift.starts_at, VolunteerSignup.id))
    return [ScanningVolunteer(*row) for row in rows]


def signup_of(rally_id: int, signup_id: int) -> VolunteerSignup | None:
    """The rally's sign-up with that id, or None (another rally's or campaign's sign-up is None too)."""
    signup = db.session.get(VolunteerSignup, signup_id)
    return signup if signup is not None and signup.rally_id == rally_id else None


def volunteer_arrival_rows(rally_id: int, link_id: int | None) -> list[tuple[int | None, datetime, int, int]]:
    """(door_id, minute, people, walkins) of the arrivals the link's devices admitted, in minute order.

    As ArrivalMinute counts them: first entries only (no re-entries, no exits), undone ones left out, a
    reduced admission by the people it kept, walk-ins the devices registered among them.
    """
    if link_id is None:  # the link was deleted: nothing can be traced to the volunteer any more
        return []
    minute = utc_minute(Checkin.admitted_at).label("minute")
    walkins = sa.case((Checkin.is_walkin.is_(True), Checkin.people), else_=0)
    query = (sa.select(Checkin.door_id, minute, sa.func.sum(Checkin.people), sa.func.sum(walkins))
             .join(ScanLog, ScanLog.id == Checkin.scan_id)
             .join(DoorSession, DoorSession.id == ScanLog.session_id)
             .where(Checkin.rally_id == rally_id, DoorSession.link_id == link_id, Checkin.undone_at.is_(None),
                    Checkin.direction == DIRECTION_ENTRY, Checkin.reentry.is_(False))
             .group_by(Checkin.door_id, minute).order_by(minute, Checkin.door_id))
    return [(door, at, int(people or 0), int(walk or 0)) for door, at, people, walk in db.session.execute(query)]


def volunteer_arrival_curve(rally, signup: VolunteerSignup) -> tallies.ArrivalCurve:
    """The arrival curve of one volunteer's admissions, per door (each door's totals are theirs)."""
    rows = volunteer_arrival_rows(rally.id, signup.link_id)
    people: dict[int | None, int] = {}
    walkins: dict[int | None, int] = {}
    for door_id, _minute, n, w in rows:  # grouped rows (door × minute), not check-ins
        people[door_id] = people.get(door_id, 0) + n
        walkins[door_id] = walkins.get(door_id, 0) + w
    doors = [_Door(d.id, d.name, d.lanes, people.get(d.id, 0), walkins.get(d.id, 0))
             for d in tallies.rally_doors(rally.id)]
    curve = tallies.arrival_curve(rally, rows=rows, doors=doors)
    # Rows without a door (since deleted) get a series of their own; give it the volunteer's totals too.
    known = {d.id for d in doors}
    curve.doors = [s if s.door_id in known else
                   replace(s, checked_in_people=sum(s.counts), walkin_people=walkins.get(s.door_id, 0))
                   for s in curve.doors]
    return curve


@dataclass
class _Door:
    id: int
    name: str
    lanes: int
    checked_in_people: int
    walkin_people: int
