"""Volunteer shifts at a rally's doors, and the people who sign up for them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from .door import DOOR_ROLE_SCANNER
from .types import UTCDateTime, utcnow

SIGNUP_ACTIVE = "active"
SIGNUP_CANCELLED = "cancelled"


class Shift(db.Model):
    """A stretch of time at one door that needs ``slots`` volunteers in one door role."""

    __tablename__ = "volunteer_shift"
    __table_args__ = (sa.CheckConstraint("filled >= 0 AND filled <= slots", name="filled_within_slots"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    rally_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rally.id", ondelete="CASCADE"), index=True)
    door_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("door.id", ondelete="CASCADE"), index=True)
    starts_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    ends_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    slots: so.Mapped[int] = so.mapped_column(default=1)
    #: Active sign-ups, moved only by the conditional UPDATE in volunteers/signups.py (never counted at read time).
    filled: so.Mapped[int] = so.mapped_column(default=0)
    #: The door role volunteers of this shift get: scanner or supervisor.
    role: so.Mapped[str] = so.mapped_column(sa.String(12), default=DOOR_ROLE_SCANNER)
    notes: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    door = so.relationship("Door")
    rally = so.relationship("Rally")

    @property
    def open_slots(self) -> int:
        return max(0, self.slots - self.filled)


class VolunteerSignup(db.Model):
    """One person on one shift; their page token opens their volunteer page (and its cancel button)."""

    __table_args__ = (sa.UniqueConstraint("shift_id", "email_key", name="uq_volunteer_signup_shift_email_key"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    shift_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("volunteer_shift.id", ondelete="CASCADE"), index=True)
    rally_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rally.id", ondelete="CASCADE"), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    #: The mailbox (addresses.canonical_email): one sign-up per mailbox per shift.
    email_key: so.Mapped[str] = so.mapped_column(sa.String(254))
    #: E.164, or "" when none was given.
    phone: so.Mapped[str] = so.mapped_column(sa.String(32), default="")
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default="active")
    #: The volunteer's page token, as keys/link_secrets.py stores ticket-page tokens (hash + sealed copy).
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    token_sealed: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    #: The volunteer's own door link, and its secret sealed (bound to the link's hash) for the email.
    link_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("door_link.id", ondelete="SET NULL"), index=True)
    link_sealed: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    #: The page language at sign-up: the volunteer's emails are written in it.
    locale: so.Mapped[str] = so.mapped_column(sa.String(10), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    #: When the day-before and the two-hours-before reminders were queued (claimed once, volunteers/reminders.py).
    reminded_day_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    reminded_soon_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    shift = so.relationship("Shift")
    link = so.relationship("DoorLink")
