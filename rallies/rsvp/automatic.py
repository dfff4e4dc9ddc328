"""The automatic loop: the messages that go because of the clock, run by ``flask send-automatic`` and by
every pass of the outbox worker.

- the day-before reminder (reminders.py, one-click "I'm coming" / "I can't make it");
- the day-of reminder, DAYOF_REMINDER_HOURS (3) before doors open (or the start), with the ticket;
- volunteers' reminders the day before and two hours before their shift (volunteers/reminders.py);
- after a rally, within AFTER_RALLY_HOURS (24) of its end: a thank-you to those checked in and a
  "sorry we missed you" to going no-shows, each switchable per rally, both skipping supporters who
  opted out of campaign messages.

Never twice: each kind is one INSERT ... SELECT per rally keyed "<kind>.<rally>.<rsvp>" (mail/bulk.py),
so a restart, a second run or two workers at the same moment queue each message at most once.
Cheap when nothing is due: each kind first reads the rallies in its time window, a range on
ix_rally_public (visibility, status, starts_at); a rally in a window costs one anti-join on indexes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ..database import atomic
from ..extensions import db
from ..mail.bulk import queue_per_rsvp
from ..models import RSVP_GOING, Rally, Rsvp, Supporter, utcnow
from ..models.rallies import STATUS_SCHEDULED
from ..sms.queue import queue_rally_sms
from ..volunteers.reminders import queue_volunteer_reminders
from .reminders import ALL_VISIBILITIES, queue_reminders

#: Doors open at most 12 hours before the start (lifecycle._times).
_DOORS_LEAD = timedelta(hours=12)
#: No rally lasts longer: bounds the after-rally query's range on starts_at.
_LONGEST_RALLY = timedelta(days=31)


def queue_automatic(now: datetime | None = None) -> dict[str, int]:
    """Queue whatever automatic messages are due at ``now``; returns how many of each kind were queued."""
    now = now or utcnow()
    config = current_app.config
    counts = {"day_before": queue_reminders(int(config.get("REMINDER_HOURS", 36)), now)}
    counts["day_of"] = queue_day_of(now, float(config.get("DAYOF_REMINDER_HOURS", 3)))
    counts.update(queue_after_rally(now, float(config.get("AFTER_RALLY_HOURS", 24))))
    counts["volunteer_reminders"] = queue_volunteer_reminders(now)
    return counts


def _scheduled():
    # Every visibility written out: the rally queries are then ranges on ix_rally_public.
    return (Rally.visibility.in_(ALL_VISIBILITIES), Rally.status == STATUS_SCHEDULED)


def day_of_due(now: datetime, hours: float) -> list[tuple[int, str]]:
    """(id, title) of scheduled rallies whose doors (or start, without doors) open within ``hours`` of now."""
    lead = timedelta(hours=hours)
    rows = db.session.execute(sa.select(Rally.id, Rally.title, Rally.starts_at, Rally.doors_open_at).where(
        *_scheduled(), Rally.starts_at > now, Rally.starts_at <= now + lead + _DOORS_LEAD).order_by(Rally.id))
    return [(rid, title) for rid, title, starts, doors in rows if (doors or starts) - lead <= now < (doors or starts)]


def queue_day_of(now: datetime, hours: float = 3) -> int:
    """Queue the day-of reminder (with the ticket) to each going RSVP of rallies whose doors open soon."""
    queued = 0
    for rally_id, title in day_of_due(now, hours):
        with atomic():
            queued += queue_per_rsvp("dayof", f"dayof.{rally_id}", f"Today: {title}", "automatic",
                                     {"template": "dayof"}, Rsvp.rally_id == rally_id, Rsvp.status == RSVP_GOING)
            # The text is keyed like the email: its message id is unique, so a second run queues none.
            queue_rally_sms(rally_id, "dayof", key_prefix=f"dayof.{rally_id}", statuses=(RSVP_GOING,))
    return queued


def _not_opted_out():
    """Campaign messages skip supporters who opted out (their own tickets and rally changes still go)."""
    return ~sa.exists().where(Supporter.id == Rsvp.supporter_id, Supporter.email_opt_out_at.is_not(None))


def after_rally_due(now: datetime, hours: float) -> list:
    """Scheduled rallies that ended within ``hours`` of now with a thank-you or missed-you switched on."""
    return db.session.execute(sa.select(Rally.id, Rally.title, Rally.send_thank_you, Rally.send_missed_you).where(
        *_scheduled(), Rally.starts_at > now - timedelta(hours=hours) - _LONGEST_RALLY, Rally.starts_at <= now,
        Rally.ends_at <= now, Rally.ends_at > now - timedelta(hours=hours),
        sa.or_(Rally.send_thank_you, Rally.send_missed_you)).order_by(Rally.id)).all()


def queue_after_rally(now: datetime, hours: float = 24) -> dict[str, int]:
    """Queue the thank-you (checked in) and the "sorry we missed you" (going, not checked in) of ended rallies."""
    counts = {"thank_you": 0, "missed_you": 0}
    for rally_id, title, thank, missed in after_rally_due(now, hours):
        with atomic():
            if thank:
                counts["thank_you"] += queue_per_rsvp(
                    "thank_you", f"thanks.{rally_id}", f"Thank you for coming: {title}", "automatic",
                    {"template": "thank_you"}, Rsvp.rally_id == rally_id, Rsvp.checked_in_people > 0,
                    _not_opted_out())
            if missed:
                counts["missed_you"] += queue_per_rsvp(
                    "missed_you", f"missed.{rally_id}", f"We missed you: {title}", "automatic",
                    {"template": "missed_you"}, Rsvp.rally_id == rally_id, Rsvp.status == RSVP_GOING,
                    Rsvp.checked_in_people == 0, Rsvp.is_walkin.is_(False), _not_opted_out())
    return counts
