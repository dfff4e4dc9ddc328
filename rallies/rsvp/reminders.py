"""The day-before reminder, run by ``flask send-reminders`` from cron.

Idempotent: each RSVP is claimed with ``UPDATE rsvp SET reminder_sent_at = now WHERE
id = :id AND reminder_sent_at IS NULL`` in the same transaction that queues its email,
so running the command again (or twice at once) never queues a second reminder; the
outbox's ``message_key`` ("reminder:<id>") is a second guard.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ..database import atomic
from ..extensions import db
from ..models import RSVP_GOING, Rally, Rsvp, utcnow
from ..models.rallies import STATUS_SCHEDULED, VISIBILITY_DRAFT, VISIBILITY_LISTED, VISIBILITY_UNLISTED
from . import notices

BATCH = 200
ALL_VISIBILITIES = (VISIBILITY_DRAFT, VISIBILITY_LISTED, VISIBILITY_UNLISTED)


def due_reminder_ids(within_hours: int = 36, now: datetime | None = None) -> list[int]:
    """Going RSVPs (with an email) of scheduled rallies starting within the window, not yet reminded."""
    now = now or utcnow()
    q = (
        sa.select(Rsvp.id).join(Rally, Rally.id == Rsvp.rally_id)
        # Every visibility written out: the rally side is then a range on ix_rally_public.
        .where(Rally.visibility.in_(ALL_VISIBILITIES), Rally.status == STATUS_SCHEDULED, Rally.starts_at > now,
               Rally.starts_at <= now + timedelta(hours=within_hours),
               Rsvp.status == RSVP_GOING, Rsvp.reminder_sent_at.is_(None), Rsvp.email.is_not(None))
        .order_by(Rsvp.id)
    )
    return list(db.session.scalars(q))


def queue_reminders(within_hours: int = 36, now: datetime | None = None) -> int:
    """Queue one reminder per going RSVP of rallies starting soon; returns how many were queued."""
    ids = due_reminder_ids(within_hours, now)
    t = Rsvp.__table__
    queued = 0
    for start in range(0, len(ids), BATCH):
        with atomic():
            for rsvp_id in ids[start:start + BATCH]:
                claimed = db.session.execute(
                    t.update().where(t.c.id == rsvp_id, t.c.reminder_sent_at.is_(None), t.c.status == RSVP_GOING)
                    .values(reminder_sent_at=utcnow())
                ).rowcount
                if claimed != 1:
                    continue  # another run got it, or it was cancelled meanwhile
                notices.reminder_email(db.session.get(Rsvp, rsvp_id))
                queued += 1
    return queued
