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


class OutboxMessage(db.Model):
    __table_args__ = (sa.Index("ix_outbox_due", "status", "next_attempt_at"),)

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
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default=OUTBOX_PENDING)
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    #: Set when a sender claims the row; a stale claim is taken over after a timeout.
    claimed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    claimed_by: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_error: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
