"""Volunteer reminders: the day before a shift and two hours before it, each at most once per volunteer.

Run by the automatic loop (rsvp/automatic.py: ``flask send-automatic`` and every outbox worker pass).
Each sign-up is claimed with ``UPDATE ... SET reminded_<kind>_at = now WHERE ... IS NULL`` in the
transaction that queues its email, so a second run (or two at once) queues nothing more; the outbox's
message key ("volunteer.<kind>.<sign-up>") is a second guard. A volunteer who signs up inside a window
gets only what is still ahead: no day-before reminder two hours before the shift.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ..database import atomic
from ..extensions import db
from ..models import Rally, Shift, VolunteerSignup, utcnow
from ..models.rallies import STATUS_SCHEDULED
from ..models.volunteers import SIGNUP_ACTIVE
from .mail import reminder_email
from .shifts import DAY_BEFORE, SOON

#: kind -> (claim column, how long before the start it is due, and it is not sent closer than).
KINDS = {
    "day": (VolunteerSignup.reminded_day_at, DAY_BEFORE, SOON),
    "soon": (VolunteerSignup.reminded_soon_at, SOON, timedelta(0)),
}


def due(kind: str, now: datetime) -> list[int]:
    """Active sign-ups of scheduled rallies' shifts whose ``kind`` reminder is due and not yet queued."""
    column, lead, floor = KINDS[kind]
    return list(db.session.scalars(
        sa.select(VolunteerSignup.id).join(Shift, Shift.id == VolunteerSignup.shift_id)
        .join(Rally, Rally.id == Shift.rally_id)
        .where(Shift.starts_at > now + floor, Shift.starts_at <= now + lead, Rally.status == STATUS_SCHEDULED,
               VolunteerSignup.status == SIGNUP_ACTIVE, column.is_(None))
        .order_by(VolunteerSignup.id)))


def queue_volunteer_reminders(now: datetime | None = None) -> int:
    """Queue the reminders due at ``now``; returns how many were queued."""
    now = now or utcnow()
    queued = 0
    for kind, (column, _lead, _floor) in KINDS.items():
        for signup_id in due(kind, now):
            with atomic():
                claimed = db.session.execute(
                    sa.update(VolunteerSignup).where(VolunteerSignup.id == signup_id, column.is_(None),
                                                     VolunteerSignup.status == SIGNUP_ACTIVE)
                    .values({column.key: now})).rowcount
                if claimed != 1:
                    continue  # another run got it, or the volunteer cancelled meanwhile
                reminder_email(db.session.get(VolunteerSignup, signup_id), kind)
                queued += 1
    return queued
