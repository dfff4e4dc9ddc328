"""The email outbox: written in the same transaction as what caused it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from .types import UTCDateTime, utcnow

OUTBOX_PENDING = "pending"
OUTBOX_SENDING = "sending"
OUTBOX_SENT = "sent"
OUTBOX_FAILED = "failed"

CHANNEL_EMAIL = "email"
CHANNEL_SMS = "sms"

#: Who an organizer message goes to (messaging/segments.py).
SEGMENTS = ("going", "waitlisted", "cancelled", "checked_in", "no_show", "walkin", "opted_in")
MESSAGE_DRAFT = "draft"
MESSAGE_SCHEDULED = "scheduled"
MESSAGE_QUEUED = "queued"
MESSAGE_CANCELLED = "cancelled"


class OutboxMessage(db.Model):
    __table_args__ = (sa.Index("ix_outbox_due", "status", "next_attempt_at"),
                      sa.Index("ix_outbox_campaign_message_status", "campaign_message_id", "status"))

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: confirmation, promotion, cancellation, rally_changed, rally_cancelled, reminder, password_reset, invite...
    kind: so.Mapped[str] = so.mapped_column(sa.String(30))
    #: Stable across retries, so a repeat after a crash folds in mail clients.
    message_id: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    to_addr: so.Mapped[str] = so.mapped_column(sa.String(254))
    subject: so.Mapped[str] = so.mapped_column(sa.String(200))
    #: The full RFC 5322 message, built once: when queued, or (for ``render_as`` rows) by the sender
    #: on its first attempt and stored before sending, so every retry sends the same bytes.
    body: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    #: Renderer name for messages the sender builds (mail.delivery.renderer); "" when queued whole.
    render_as: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    #: JSON parameters for the renderer (small: ids and words, never the message itself).
    render_params: so.Mapped[dict | None] = so.mapped_column(sa.JSON)
    rsvp_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("rsvp.id", ondelete="SET NULL"), index=True)
    #: "email" (to_addr is an address) or "sms" (to_addr is an E.164 number; body is the text).
    channel: so.Mapped[str] = so.mapped_column(sa.String(5), default=CHANNEL_EMAIL, server_default=CHANNEL_EMAIL)
    #: The organizer message this row delivers, if any (its page counts queued, sent and failed).
    campaign_message_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("campaign_message.id", ondelete="SET NULL"))
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default=OUTBOX_PENDING)
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    #: Set when a sender claims the row; a stale claim is taken over after a timeout.
    claimed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    claimed_by: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_error: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class CampaignMessage(db.Model):
    """A message an organizer sends to one segment of a rally's supporters, by email, SMS or both."""

    __table_args__ = (sa.Index("ix_campaign_message_due", "status", "send_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    campaign_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    rally_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rally.id", ondelete="CASCADE"), index=True)
    segment: so.Mapped[str] = so.mapped_column(sa.String(20))
    #: "email", "sms" or "both".
    channel: so.Mapped[str] = so.mapped_column(sa.String(5), default=CHANNEL_EMAIL)
    subject: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    sms_body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    #: The same message in other languages: {"es": {"subject": ..., "body": ..., "sms_body": ...}}.
    translations: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    #: draft, scheduled, queued or cancelled.
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default=MESSAGE_DRAFT)
    #: When a scheduled message goes (UTC; entered in the rally's zone).
    send_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    queued_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    #: Outbox rows written when it was queued (email and SMS together).
    recipient_count: so.Mapped[int] = so.mapped_column(default=0)
    #: Who wrote it and who sent it (kept if the account goes).
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    sent_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    sent_by_email: so.Mapped[str] = so.mapped_column(sa.String(254), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    rally = so.relationship("Rally")
