"""What organizers read about messages: a rally's log and one message's delivery counts."""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import CampaignMessage, OutboxMessage, Rally
from ..models.mail import OUTBOX_FAILED, OUTBOX_PENDING, OUTBOX_SENDING, OUTBOX_SENT


def rally_messages(rally: Rally) -> list[CampaignMessage]:
    """Every message of a rally, newest first."""
    return list(db.session.scalars(sa.select(CampaignMessage).where(CampaignMessage.rally_id == rally.id)
                                   .order_by(CampaignMessage.created_at.desc(), CampaignMessage.id.desc())))


def message_of(rally: Rally, message_id: int) -> CampaignMessage | None:
    """A message by id, only if it belongs to this rally."""
    message = db.session.get(CampaignMessage, message_id)
    return message if message is not None and message.rally_id == rally.id else None


def delivery_counts(message: CampaignMessage) -> dict[str, int]:
    """{"queued": n, "sent": n, "failed": n} from the outbox (one GROUP BY on ix_outbox_campaign_message_status);
    rows dropped because the person opted out meanwhile are in none of them."""
    rows = db.session.execute(sa.select(OutboxMessage.status, sa.func.count())
                              .where(OutboxMessage.campaign_message_id == message.id)
                              .group_by(OutboxMessage.status))
    by_status = {status: int(n) for status, n in rows}
    return {"queued": by_status.get(OUTBOX_PENDING, 0) + by_status.get(OUTBOX_SENDING, 0),
            "sent": by_status.get(OUTBOX_SENT, 0), "failed": by_status.get(OUTBOX_FAILED, 0)}


def campaign_id_of(rally_id: int) -> int | None:
    """The campaign a rally belongs to (the rate limit's key), or None."""
    return db.session.scalar(sa.select(Rally.campaign_id).where(Rally.id == rally_id))
