"""An organizer's message to every volunteer of a rally, through the outbox (one email per active sign-up)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext

from ..database import atomic
from ..extensions import db
from ..models import Rally, VolunteerSignup
from ..models.volunteers import SIGNUP_ACTIVE
from .mail import volunteer_message


class MessageError(Exception):
    """A message that cannot go; the text is shown to the organizer."""


def volunteer_count(rally_id: int) -> int:
    """Volunteers with a place on one of the rally's shifts."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(VolunteerSignup).where(
        VolunteerSignup.rally_id == rally_id, VolunteerSignup.status == SIGNUP_ACTIVE)) or 0


def message_volunteers(rally: Rally, subject: str, body: str, key: str) -> int:
    """Queue the message to each active volunteer of the rally; returns how many were queued.

    ``key`` is the form's one-time value: submitting the same form twice queues each email once.
    """
    subject, body = " ".join((subject or "").split())[:200], (body or "").strip()[:5000]
    if not subject or not body:
        raise MessageError(gettext("Write a subject and a message."))
    if not key.isalnum() or len(key) > 64:
        raise MessageError(gettext("The form expired. Try again."))
    with atomic():
        signups = db.session.scalars(sa.select(VolunteerSignup).where(
            VolunteerSignup.rally_id == rally.id, VolunteerSignup.status == SIGNUP_ACTIVE)
            .order_by(VolunteerSignup.id)).all()
        for signup in signups:
            volunteer_message(signup, subject, body, key)
        return len(signups)
