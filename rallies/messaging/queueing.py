"""Queueing a message: one conditional UPDATE and one INSERT ... SELECT per channel, in one transaction.

The UPDATE moves the message from draft or scheduled to queued; only the transaction whose UPDATE
matched writes the outbox rows, so a double click or two schedule workers queue it once. Each row's
Message-ID is built in SQL from the message and RSVP ids ('<m12-345.e@domain>'), and is unique in
the outbox, a second guard. Rows carry a renderer name and the same small JSON params; the sender
renders each for its RSVP (render.py) when it sends, so queueing costs one statement, not one per person.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..database import atomic
from ..extensions import db
from ..mail.bulk import outbox_columns
from ..mail.delivery import message_domain
from ..models import CampaignMessage, OutboxMessage, Rally, Rsvp, Supporter, User, utcnow
from ..models.mail import CHANNEL_EMAIL, MESSAGE_DRAFT, MESSAGE_QUEUED, MESSAGE_SCHEDULED
from . import segments

RENDER_EMAIL = "campaign_message"
RENDER_SMS = "campaign_sms"


def _outbox_rows(message: CampaignMessage, rally: Rally, channel: str):
    """INSERT INTO outbox_message (...) SELECT ... FROM rsvp JOIN supporter: this channel's rows."""
    email = channel == CHANNEL_EMAIL
    tag = "e" if email else "s"
    render_as = RENDER_EMAIL if email else RENDER_SMS
    message_id = (sa.literal(f"<m{message.id}-") + sa.cast(Rsvp.id, sa.String)
                  + sa.literal(f".{tag}@{message_domain()}>"))
    columns = outbox_columns(kind=render_as, message_id=message_id, to_addr=Rsvp.email if email else Supporter.phone,
                             subject=message.subject if email else "", render_as=render_as,
                             params={"campaign_message_id": message.id}, channel=channel,
                             campaign_message_id=message.id)
    select = segments.recipients(rally, message.segment, channel, *columns.values())
    return (OutboxMessage.__table__.insert().from_select(list(columns), select)
            .execution_options(preserve_rowcount=True))


def _claim(message_id: int, user: User | None, now: datetime, due: bool):
    """The conditional UPDATE that lets exactly one caller queue the message."""
    t = CampaignMessage.__table__
    where = [t.c.id == message_id]
    if due:
        where += [t.c.status == MESSAGE_SCHEDULED, t.c.send_at <= now]
    else:
        where.append(t.c.status.in_((MESSAGE_DRAFT, MESSAGE_SCHEDULED)))
    values = {"status": MESSAGE_QUEUED, "queued_at": now}
    if user is not None:
        values.update(sent_by_id=user.id, sent_by_email=user.email)
    return t.update().where(*where).values(**values).execution_options(preserve_rowcount=True)


def _queue(message_id: int, user: User | None, now: datetime, due: bool) -> int | None:
    """Queue one message in one transaction; its outbox rows, or None if someone else queued it."""
    with atomic() as session:
        if session.execute(_claim(message_id, user, now, due)).rowcount != 1:
            return None
        message = session.get(CampaignMessage, message_id)
        rally = session.get(Rally, message.rally_id)
        written = sum(session.execute(_outbox_rows(message, rally, channel)).rowcount
                      for channel in segments.channels_of(message.channel))
        message.recipient_count = written
    return written


def queue_message(message: CampaignMessage, user: User) -> int | None:
    """Send a draft or scheduled message now; the rows written, or None if it was queued already."""
    written = _queue(message.id, user, utcnow(), due=False)
    db.session.expire(message)
    return written


def queue_due_messages(now: datetime | None = None) -> int:
    """Queue every scheduled message whose time has come (safe to run in several workers); messages queued."""
    now = now or utcnow()
    t = CampaignMessage.__table__
    due = db.session.scalars(sa.select(t.c.id).where(t.c.status == MESSAGE_SCHEDULED, t.c.send_at <= now)
                             .order_by(t.c.send_at, t.c.id)).all()
    db.session.rollback()  # no read snapshot held into the writes (SQLite)
    return sum(1 for message_id in due if _queue(message_id, None, now, due=True) is not None)
