"""Supporters and their RSVPs (one RSVP is one ticket)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from .types import UTCDateTime, utcnow

RSVP_GOING = "going"
RSVP_WAITLISTED = "waitlisted"
RSVP_CANCELLED = "cancelled"
#: Waiting for the supporter to confirm by email (rallies with ``confirm_by_email``): holds no place.
RSVP_UNCONFIRMED = "unconfirmed"


class Supporter(db.Model):
    """One person per email within a campaign."""

    __table_args__ = (sa.UniqueConstraint("campaign_id", "email"), sa.Index("ix_supporter_phone", "phone"))

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    campaign_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    #: Normalised email; None once the person is deleted.
    email: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    name: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    #: E.164 (phonenumbers) when given; SMS goes only here, and STOP matches on it.
    phone: so.Mapped[str] = so.mapped_column(sa.String(32), default="")
    postal_code: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    #: The language the supporter chose ("" = none yet: the campaign's default); email and SMS use it.
    locale: so.Mapped[str] = so.mapped_column(sa.String(10), default="", server_default="")
    #: Opted out of campaign messages (organizer messages, thank-yous): set by the unsubscribe link or
    #: the preferences page. Their own ticket and changes to their rally still reach them.
    email_opt_out_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    #: SMS consent, as given at RSVP: when, the exact text shown, and from which address.
    sms_opt_in_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    sms_consent_text: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default="")
    sms_consent_ip: so.Mapped[str] = so.mapped_column(sa.String(45), default="", server_default="")
    #: STOP received (or SMS turned off on the preferences page); START clears it.
    sms_stopped_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    deleted_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)


class Rsvp(db.Model):
    __table_args__ = (
        # One mailbox (however its address is spelled) never makes a second RSVP for the same rally.
        sa.UniqueConstraint("rally_id", "email_key", name="uq_rsvp_rally_email_key"),
        # Named for the column it was made on (``token``, renamed to token_hash): renaming a constraint
        # would rebuild the table on SQLite.
        sa.UniqueConstraint("token_hash", name="uq_rsvp_token"),
        sa.Index("ix_rsvp_rally_status_id", "rally_id", "status", "id"),
        sa.Index("ix_rsvp_rally_search", "rally_id", "search_name"),
        sa.Index("ix_rsvp_rally_changed", "rally_id", "changed_seq"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    rally_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rally.id", ondelete="CASCADE"))
    supporter_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("supporter.id", ondelete="SET NULL"), index=True)
    #: SHA-256 (URL-safe base64) of the ticket page's secret token (/t/<token>): the lookup key.
    #: The token itself is not stored (keys/link_secrets.py).
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(43))
    #: The token sealed with the KEK, so email rendered later can link to the page.
    token_sealed: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)

    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    #: Normalised email; None for anonymous walk-ins and deleted people.
    email: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    #: The mailbox behind ``email`` (mail.addresses.canonical_email): duplicates are decided on it.
    email_key: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    phone: so.Mapped[str] = so.mapped_column(sa.String(32), default="")
    postal_code: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    #: "First L." shown at the door and synced to door devices.
    door_name: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    #: Lower-case, accent-free "name email phone" for prefix search.
    search_name: so.Mapped[str] = so.mapped_column(sa.String(400), default="")

    guests: so.Mapped[int] = so.mapped_column(default=0)
    #: going, waitlisted, cancelled or unconfirmed.
    status: so.Mapped[str] = so.mapped_column(sa.String(12))
    is_walkin: so.Mapped[bool] = so.mapped_column(default=False)
    #: People of this party admitted so far (0..guests+1).
    checked_in_people: so.Mapped[int] = so.mapped_column(default=0)
    #: Of the people checked in, those who left by an exit scan and are outside now.
    outside_people: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    #: Of the people inside now, those in the rally's overflow area.
    overflow_people: so.Mapped[int] = so.mapped_column(default=0, server_default="0")

    opt_in: so.Mapped[bool] = so.mapped_column(default=False)
    opt_in_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    utm_source: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    utm_medium: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    utm_campaign: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    ref: so.Mapped[str] = so.mapped_column(sa.String(100), default="")

    #: When the party joined its current status queue (waitlist order is by this, then id).
    status_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    reminder_sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    #: When a repeat RSVP last re-sent the ticket link (one resend per window per mailbox).
    ticket_resent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    #: Supporter answered the reminder: "yes", "no" or "".
    reminder_answer: so.Mapped[str] = so.mapped_column(sa.String(4), default="")
    #: Monotonic change number for incremental door sync (see door.sync).
    changed_seq: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    rally = so.relationship("Rally")
    supporter = so.relationship("Supporter")
    #: The drawn QR image, once something needed it (written with Core: rsvp/tickets.py).
    ticket_image = so.relationship("TicketImage", uselist=False, viewonly=True)

    @property
    def party_size(self) -> int:
        return self.guests + 1


class TicketImage(db.Model):
    """A ticket's QR code as PNG, drawn once, by whichever needs it first (the ticket email or the image
    URL), then read by the other. Sealed with the KEK (keys/sealing.py, bound to the RSVP id): the
    picture is the ticket, so a copy of the database must not hold it in the clear."""

    rsvp_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rsvp.id", ondelete="CASCADE"), primary_key=True)
    png_sealed: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)


class RsvpSmsConsent(db.Model):
    """SMS consent given on the form of an RSVP still waiting for its mailbox's confirmation. It opts no one
    in: confirming moves it onto the supporter (rsvp/new_rsvp.py link_supporter) and deletes it."""

    rsvp_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rsvp.id", ondelete="CASCADE"), primary_key=True)
    #: As SmsConsent has them: the text shown, the client address, when the box was ticked.
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    ip: so.Mapped[str] = so.mapped_column(sa.String(45))
    agreed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
