"""Doors, door links and sessions, check-ins and the scan log."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from .types import UTCDateTime, utcnow

DOOR_ROLE_SCANNER = "scanner"
DOOR_ROLE_SUPERVISOR = "supervisor"


class Door(db.Model):
    __table_args__ = (sa.UniqueConstraint("rally_id", "name"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    rally_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rally.id", ondelete="CASCADE"), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    #: Planned turnstile lanes (for the throughput comparison).
    lanes: so.Mapped[int] = so.mapped_column(default=1)
    # People admitted and walk-ins at this door are the sums of its ArrivalMinute rows (kept once, there).
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    rally = so.relationship("Rally")


class DoorLink(db.Model):
    """A secret link that opens a door session for one rally and one door."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    rally_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rally.id", ondelete="CASCADE"), index=True)
    door_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("door.id", ondelete="CASCADE"), index=True)
    role: so.Mapped[str] = so.mapped_column(sa.String(12), default=DOOR_ROLE_SCANNER)
    label: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    #: SHA-256 of the secret in the link.
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    #: The link opens nothing before this (a volunteer's link opens shortly before their shift); None: at once.
    not_before: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    #: Whose link this is (a volunteer's name): the devices it opens carry it, so their scans are logged under it.
    holder_name: so.Mapped[str] = so.mapped_column(sa.String(80), default="", server_default="")
    revoked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    door = so.relationship("Door")
    rally = so.relationship("Rally")


class DoorSession(db.Model):
    """One device that opened a door link (or an organizer scanning), or an API token."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    link_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("door_link.id", ondelete="CASCADE"), index=True)
    rally_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rally.id", ondelete="CASCADE"), index=True)
    door_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("door.id", ondelete="CASCADE"))
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    role: so.Mapped[str] = so.mapped_column(sa.String(12), default=DOOR_ROLE_SCANNER)
    device_name: so.Mapped[str] = so.mapped_column(sa.String(80))
    #: SHA-256 of the bearer secret (session cookie value or API token).
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    revoked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    door = so.relationship("Door")
    link = so.relationship("DoorLink")


class ScanLog(db.Model):
    """Every scan, admitted or refused. The client nonce makes retries idempotent."""

    __table_args__ = (
        sa.UniqueConstraint("rally_id", "nonce"),
        sa.Index("ix_scan_log_rally_id", "rally_id", "id"),
        sa.Index("ix_scan_log_rsvp", "rsvp_id"),
        # A device's scans: its walk-in allowance and reduce, a volunteer's log and arrival curve.
        sa.Index("ix_scan_log_session", "session_id"),
    )

    id: so.Mapped[int] = so.mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    rally_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rally.id", ondelete="CASCADE"))
    door_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("door.id", ondelete="SET NULL"))
    session_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("door_session.id", ondelete="SET NULL"))
    device_name: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    rsvp_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("rsvp.id", ondelete="SET NULL"))
    nonce: so.Mapped[str] = so.mapped_column(sa.String(64))
    #: What was scanned, cut to a safe length (never personal data).
    code: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    #: admit, already, wrong_rally, cancelled, waitlisted, revoked, invalid, undo, ...
    verdict: so.Mapped[str] = so.mapped_column(sa.String(20))
    reason: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    people: so.Mapped[int] = so.mapped_column(default=0)
    forced: so.Mapped[bool] = so.mapped_column(default=False)
    offline: so.Mapped[bool] = so.mapped_column(default=False)
    #: Client clock far from the server's at receipt.
    clock_flagged: so.Mapped[bool] = so.mapped_column(default=False)
    #: Same ticket admitted at two places while offline.
    conflict: so.Mapped[bool] = so.mapped_column(default=False)
    note: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    client_time: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    received_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    #: The JSON verdict returned, replayed verbatim for a retried nonce.
    response: so.Mapped[str] = so.mapped_column(sa.Text, default="")


DIRECTION_ENTRY = "entry"
DIRECTION_EXIT = "exit"


class Checkin(db.Model):
    """People admitted or leaving: one row per admission or exit (a party may come and go in parts).

    As in pretix, an exit is a check-in of direction "exit"; inside now = entries - exits.
    """

    __table_args__ = (
        sa.Index("ix_checkin_rally_time", "rally_id", "admitted_at"),
        sa.Index("ix_checkin_rsvp", "rsvp_id"),
    )

    id: so.Mapped[int] = so.mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    rally_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rally.id", ondelete="CASCADE"))
    rsvp_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("rsvp.id", ondelete="SET NULL"))
    door_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("door.id", ondelete="SET NULL"))
    scan_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("scan_log.id", ondelete="SET NULL"))
    device_name: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    people: so.Mapped[int] = so.mapped_column(default=1)
    is_walkin: so.Mapped[bool] = so.mapped_column(default=False)
    #: entry or exit.
    direction: so.Mapped[str] = so.mapped_column(sa.String(5), default=DIRECTION_ENTRY, server_default=DIRECTION_ENTRY)
    #: An entry of people who had left (counted inside again, not as arrivals).
    reentry: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    #: Of ``people``, those who entered (or left) the overflow area rather than the venue.
    overflow_people: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    #: When the person walked in (or out) (device time for offline uploads, else server time).
    admitted_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    undone_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    undo_reason: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    changed_seq: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)


class ArrivalMinute(db.Model):
    """People admitted per door per minute, kept by the check-in service for arrival curves."""

    __table_args__ = (
        sa.UniqueConstraint("rally_id", "door_id", "minute"),
        # The check-in's peak-rate update sums one minute over all doors on every scan.
        sa.Index("ix_arrival_minute_rally_minute", "rally_id", "minute"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    rally_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rally.id", ondelete="CASCADE"), index=True)
    door_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("door.id", ondelete="CASCADE"))
    minute: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    people: so.Mapped[int] = so.mapped_column(default=0)
    walkins: so.Mapped[int] = so.mapped_column(default=0)
    #: People who left (exit scans) and who came back in (re-entries): inside = people + reentries - exits.
    exits: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    reentries: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    #: Of the net inside change (people + reentries - exits), the part in the overflow area.
    overflow: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
