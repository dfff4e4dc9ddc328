"""Rallies and the geocoding cache."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.ext.hybrid import hybrid_property

from ..extensions import db
from .types import UTCDateTime, utcnow

VISIBILITY_DRAFT = "draft"
VISIBILITY_LISTED = "listed"
VISIBILITY_UNLISTED = "unlisted"

STATUS_SCHEDULED = "scheduled"
STATUS_CANCELLED = "cancelled"

# Geocoding precision, best first.
PRECISION_STREET = "street"
PRECISION_ZIP = "zip"
PRECISION_CITY = "city"
PRECISION_MANUAL = "manual"
PRECISION_NONE = "none"


class Rally(db.Model):
    __table_args__ = (
        # The public list's keyset order (starts_at, id): any page is an index range; ends_at is checked in the index.
        sa.Index("ix_rally_public", "visibility", "status", "starts_at", "id", "ends_at"),
        # The near-me bounding box: a range on lat, with lon and the public filters checked in the index.
        sa.Index("ix_rally_lat_lon", "lat", "lon", "visibility", "status", "ends_at"),
        sa.Index("ix_rally_campaign_starts", "campaign_id", "starts_at"),
        sa.Index("ix_rally_state_city", "state", "city"),
        # The public list filtered by state, soonest first, without sorting every rally in the state.
        sa.Index("ix_rally_public_state", "visibility", "status", "state", "starts_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    campaign_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"))
    slug: so.Mapped[str] = so.mapped_column(sa.String(160), unique=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(160))
    #: Plain text; rendered with escaped line breaks and linkified URLs.
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    starts_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    ends_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    doors_open_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    #: IANA zone name, e.g. America/Chicago; times are stored in UTC and shown in this zone.
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64))

    venue_name: so.Mapped[str] = so.mapped_column(sa.String(160), default="")
    address: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    city: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    #: State or region code as typed (US: two-letter code, upper case).
    state: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    postal_code: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    country: so.Mapped[str] = so.mapped_column(sa.String(2), default="US")

    lat: so.Mapped[float | None] = so.mapped_column(sa.Float)
    lon: so.Mapped[float | None] = so.mapped_column(sa.Float)
    #: street, zip, city, manual or none (address not found; flagged to the organizer).
    geo_precision: so.Mapped[str] = so.mapped_column(sa.String(10), default=PRECISION_NONE)
    geo_source: so.Mapped[str] = so.mapped_column(sa.String(20), default="")

    #: People (RSVP plus guests); None means unlimited.
    capacity: so.Mapped[int | None] = so.mapped_column()
    max_guests: so.Mapped[int] = so.mapped_column(default=2)
    #: High-demand rallies: an RSVP holds a place only once the supporter confirms from the email.
    confirm_by_email: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    #: Walk-in people the door may admit, taking places from online RSVPs; None: walk-ins fill only
    #: free places (any number when capacity is None).
    walkin_limit: so.Mapped[int | None] = so.mapped_column()
    #: The venue's fire-code limit on people inside at once (entries minus exits); None: no limit.
    #: Distinct from ``capacity``, which limits RSVPs.
    safe_capacity: so.Mapped[int | None] = so.mapped_column()
    #: Whether someone who left (an exit scan) may come back in on the same ticket.
    reentry_allowed: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    #: An overflow area the doors send people to when the venue is full ("" : none), and its own limit.
    overflow_name: so.Mapped[str] = so.mapped_column(sa.String(80), default="", server_default="")
    overflow_capacity: so.Mapped[int | None] = so.mapped_column()
    accessibility_notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    visibility: so.Mapped[str] = so.mapped_column(sa.String(10), default=VISIBILITY_DRAFT)
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default=STATUS_SCHEDULED)
    cancel_message: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    #: Title and description in other languages: {"es": {"title": ..., "description": ...}}.
    translations: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict, server_default="{}")
    #: Raised on every change of time or venue that supporters are told about: the .ics SEQUENCE.
    ics_sequence: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    #: The after-rally messages (thank-you to those checked in, "sorry we missed you" to no-shows).
    send_thank_you: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    send_missed_you: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())

    #: Ed25519 key pair that signs this rally's ticket codes: the private key sealed with the KEK and bound
    #: to the rally id (services/tickets.open_signing_key), the public key raw (32 bytes).
    signing_key: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    public_key: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary(32))

    # Counters kept current by the RSVP and check-in services (atomic UPDATEs),
    # so dashboards and tables never scan RSVPs or check-ins.
    going_people: so.Mapped[int] = so.mapped_column(default=0)
    going_parties: so.Mapped[int] = so.mapped_column(default=0)
    guests_count: so.Mapped[int] = so.mapped_column(default=0)
    waitlisted_people: so.Mapped[int] = so.mapped_column(default=0)
    waitlisted_parties: so.Mapped[int] = so.mapped_column(default=0)
    cancelled_parties: so.Mapped[int] = so.mapped_column(default=0)
    #: People admitted at the door, walk-ins included.
    checked_in_people: so.Mapped[int] = so.mapped_column(default=0)
    #: People admitted who had RSVPed (not walk-ins): the show-up numerator.
    checked_in_rsvp_people: so.Mapped[int] = so.mapped_column(default=0)
    #: Walk-ins admitted; their parties count in going_people too, since they hold places.
    walkin_people: so.Mapped[int] = so.mapped_column(default=0)
    #: People inside the venue now: entries and re-entries minus exits (walk-ins included).
    inside_people: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    #: People inside the overflow area now.
    overflow_people: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    #: Highest check-ins in any one minute (all doors).
    peak_rate_per_min: so.Mapped[int] = so.mapped_column(default=0)
    #: The last door-sync change number handed out for this rally (rallies/counters.py, door/sync.py).
    change_seq: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)

    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    campaign = so.relationship("Campaign")

    @hybrid_property
    def rsvp_going_people(self) -> int:
        """People going who RSVPed ahead (walk-ins left out): the show-up denominator, in Python and SQL."""
        return self.going_people - self.walkin_people

    @property
    def is_cancelled(self) -> bool:
        return self.status == STATUS_CANCELLED

    @property
    def is_public(self) -> bool:
        """Reachable without logging in (listed or unlisted, not draft)."""
        return self.visibility in (VISIBILITY_LISTED, VISIBILITY_UNLISTED)


class GeocodeCache(db.Model):
    """One row per normalised query, so an address is never looked up twice."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    query_key: so.Mapped[str] = so.mapped_column(sa.String(400), unique=True)
    #: None when nothing was found (a cached miss).
    lat: so.Mapped[float | None] = so.mapped_column(sa.Float)
    lon: so.Mapped[float | None] = so.mapped_column(sa.Float)
    precision: so.Mapped[str] = so.mapped_column(sa.String(10), default=PRECISION_NONE)
    source: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    display_name: so.Mapped[str] = so.mapped_column(sa.String(400), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
