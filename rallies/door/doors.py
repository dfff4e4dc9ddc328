"""Doors, door links, door sessions and API tokens: who may scan where.

A door link is a secret URL scoped to one rally and one door, with a role and an expiry.
Opening it creates a DoorSession (one named device) whose bearer secret is kept only as a
SHA-256 hash. A session works while its link is neither revoked nor expired, so revoking a
link stops every device that opened it at its next request. The one exception is the offline
upload, which an expired (never a revoked) link may still make for UPLOAD_GRACE. Organizers of the campaign can
open a session at any door of its rallies; API tokens are sessions without a link.

Each write below is one transaction of its own; who may ask for it is the view's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext

from ..database import atomic
from ..extensions import db
from ..keys.link_secrets import hash_secret, new_secret
from ..models import ROLE_RANK, Door, DoorLink, DoorSession, Membership, Rally, utcnow
from ..models.door import DOOR_ROLE_SCANNER, DOOR_ROLE_SUPERVISOR

DOOR_ROLES = (DOOR_ROLE_SCANNER, DOOR_ROLE_SUPERVISOR)
#: The door window: from doors-open (or the start) less this, to the end plus this. Set-up scans and
#: late leavers fit; walk-ins days before, or device clocks days off, do not.
DOOR_WINDOW_MARGIN = timedelta(hours=2)
#: Devices (door sessions) one link may open, unless the caller says otherwise.
DEVICES_PER_LINK = 20
#: last_seen_at is written at most this often, so a busy scanner does not write on every scan.
LAST_SEEN_EVERY = timedelta(seconds=60)
#: After its link expires, a device may still upload what it scanned offline before then, this long.
#: A phone that scanned without network during its shift may only reconnect hours later (the volunteer
#: goes home), and acknowledged check-ins must not be lost; a day covers a night without signal, yet a
#: stolen phone or leaked session cannot go on uploading forever.
UPLOAD_GRACE = timedelta(hours=24)


class DoorError(Exception):
    """A door operation that cannot be done; code is the machine-readable reason."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class DoorAccessError(DoorError):
    """The door link or session does not (or no longer) grant access."""


@dataclass(frozen=True)
class DoorContext:
    """Everything a door request needs about who is scanning where (one SELECT to build)."""

    session_id: int | None
    door_id: int
    door_name: str
    rally_id: int
    campaign_id: int
    role: str
    device_name: str
    #: When this device's session began (device times before it are implausible).
    session_started: datetime | None = None
    #: The rally's door window (see door_window); None: no window known, everything is inside.
    window: tuple[datetime, datetime] | None = None
    #: The rally's Ed25519 public key (its tickets' codes verify with it), when it has one.
    public_key: bytes | None = None
    #: When the session's link expires (None: a session without a link, which does not expire).
    link_expires_at: datetime | None = None
    #: The link had expired when this request came: only an upload within its grace gets this far.
    link_expired: bool = False

    @property
    def is_supervisor(self) -> bool:
        return self.role == DOOR_ROLE_SUPERVISOR

    def in_window(self, moment: datetime) -> bool:
        """Whether a moment falls inside the rally's door window."""
        return self.window is None or self.window[0] <= moment <= self.window[1]


def door_window(doors_open_at: datetime | None, starts_at: datetime, ends_at: datetime) -> tuple[datetime, datetime]:
    """When people can be at this rally's doors: doors-open (or start) to end, each widened by the margin."""
    return (doors_open_at or starts_at) - DOOR_WINDOW_MARGIN, ends_at + DOOR_WINDOW_MARGIN


def clean_device_name(name: str) -> str:
    """Printable, trimmed, at most 80 characters."""
    name = "".join(ch for ch in (name or "") if ch.isprintable()).strip()
    return name[:80]


def create_door(rally: Rally, name: str, lanes: int = 1) -> Door:
    """Add an entrance to the rally (names are unique per rally)."""
    with atomic():
        name = clean_device_name(name)
        if not name:
            raise DoorError("invalid_name", gettext("Give the door a name."))
        exists = db.session.scalar(sa.select(Door.id).where(Door.rally_id == rally.id, sa.func.lower(Door.name) == name.lower()))
        if exists:
            raise DoorError("duplicate_door", gettext("This rally already has a door called “%(name)s”.", name=name))
        door = Door(rally_id=rally.id, name=name, lanes=max(1, min(int(lanes or 1), 100)))
        db.session.add(door)
        db.session.flush()
        return door


def create_link(door: Door, role: str, expires_at: datetime | None = None, label: str = "",
                created_by_id: int | None = None, *, not_before: datetime | None = None, holder_name: str = ""):
    """Make a secret door link; returns (DoorLink, secret). The secret is shown once.

    Without ``expires_at`` the link works until the rally's door window closes (its end plus the
    margin), so a link made days ahead still works at the door. With ``not_before`` it opens nothing
    before then; ``holder_name`` names every device it opens (a volunteer's link).
    """
    with atomic():
        if role not in DOOR_ROLES:
            raise DoorError("invalid_role", gettext("Choose scanner or supervisor."))
        if expires_at is None:
            rally = db.session.get(Rally, door.rally_id)
            expires_at = door_window(rally.doors_open_at, rally.starts_at, rally.ends_at)[1]
            if expires_at <= utcnow():
                raise DoorError("invalid_expiry", gettext("This rally is over: say how many hours the link should work."))
        if expires_at <= utcnow():
            raise DoorError("invalid_expiry", gettext("The expiry must be in the future."))
        return add_link(door, role, expires_at, label, created_by_id, not_before=not_before, holder_name=holder_name)


def add_link(door: Door, role: str, expires_at: datetime, label: str = "", created_by_id: int | None = None, *,
             not_before: datetime | None = None, holder_name: str = ""):
    """create_link inside the caller's transaction (with an explicit expiry); returns (DoorLink, secret)."""
    if role not in DOOR_ROLES:
        raise DoorError("invalid_role", gettext("Choose scanner or supervisor."))
    if not_before is not None and not_before >= expires_at:
        raise DoorError("invalid_expiry", gettext("The link must open before it expires."))
    secret = new_secret()
    link = DoorLink(
        rally_id=door.rally_id, door_id=door.id, role=role, label=clean_device_name(label),
        token_hash=hash_secret(secret), expires_at=expires_at, created_by_id=created_by_id,
        not_before=not_before, holder_name=clean_device_name(holder_name),
    )
    db.session.add(link)
    db.session.flush()
    return link, secret


def set_walkin_limit(rally: Rally, limit: int | None) -> None:
    """How many walk-in people the doors may admit beyond free places (None: free places only)."""
    with atomic():
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise DoorError("invalid_walkin_limit", gettext("Use 0 or a positive number, or leave it empty."))
        rally.walkin_limit = limit


def revoke_link(link: DoorLink) -> None:
    """Revoke a link now: every session opened with it stops at its next request."""
    with atomic():
        if link.revoked_at is None:
            link.revoked_at = utcnow()


def link_problem(link: DoorLink | None, now: datetime | None = None) -> DoorAccessError | None:
    """Why a link cannot be used, or None."""
    now = now or utcnow()
    if link is None:
        return DoorAccessError("link_unknown", gettext("This door link is not valid. Ask the organizer for a new one."))
    if link.revoked_at is not None:
        return DoorAccessError("link_revoked", gettext("This door link was revoked by the organizer. Ask them for a new one."))
    if link.expires_at <= now:
        return DoorAccessError("link_expired", gettext("This door link has expired. Ask the organizer for a new one."))
    if link.not_before is not None and now < link.not_before:
        return DoorAccessError("link_not_yet", gettext("This door link does not open the scanner yet."))
    return None


def find_link(secret: str) -> DoorLink | None:
    """The link with this secret, or None."""
    if not secret or len(secret) > 200:
        return None
    return db.session.scalar(sa.select(DoorLink).where(DoorLink.token_hash == hash_secret(secret)))


def open_link(secret: str, device_name: str, max_devices: int = DEVICES_PER_LINK) -> tuple[DoorSession, str]:
    """Start a door session on a named device from a link secret; returns (session, bearer secret).

    A link opens at most max_devices sessions that are still signed in, so a leaked link
    cannot mint an endless supply of devices (each with a fresh rate limit).
    """
    with atomic():
        link = find_link(secret)
        problem = link_problem(link)
        if problem:
            raise problem
        # A volunteer's link names its devices after them, so their scans are logged under their name.
        device = link.holder_name or clean_device_name(device_name)
        if not device:
            raise DoorError("invalid_device", gettext("Name this device, for example \"North gate phone 2\"."))
        # Lock the link row (PostgreSQL; SQLite is serialised) so two openings cannot both take the last slot.
        db.session.execute(sa.select(DoorLink.id).where(DoorLink.id == link.id).with_for_update())
        devices = db.session.scalar(sa.select(sa.func.count()).select_from(DoorSession).where(
            DoorSession.link_id == link.id, DoorSession.revoked_at.is_(None)))
        if devices >= max_devices:
            raise DoorError("too_many_devices", gettext(
                "This link is already open on %(num)s devices. Sign one out on the doors page, or ask the organizer "
                "for another link.", num=devices))
        return _new_session(link.rally_id, link.door_id, link.role, device, link_id=link.id)


def organizer_session(user_id: int, door: Door, device_name: str) -> tuple[DoorSession, str]:
    """A supervisor session for a campaign organizer scanning at any door of its rallies."""
    with atomic():
        device = clean_device_name(device_name)
        if not device:
            raise DoorError("invalid_device", gettext("Name this device, for example \"Dana's phone\"."))
        return _new_session(door.rally_id, door.id, DOOR_ROLE_SUPERVISOR, device, user_id=user_id)


def create_api_token(door: Door, role: str, device_name: str, user_id: int) -> tuple[DoorSession, str]:
    """An API token for a third-party device at one door (a session without a link)."""
    with atomic():
        if role not in DOOR_ROLES:
            raise DoorError("invalid_role", gettext("Choose scanner or supervisor."))
        device = clean_device_name(device_name) or "API device"
        return _new_session(door.rally_id, door.id, role, device, user_id=user_id)


def _new_session(rally_id, door_id, role, device, link_id=None, user_id=None):
    secret = new_secret()
    session = DoorSession(
        link_id=link_id, rally_id=rally_id, door_id=door_id, user_id=user_id, role=role,
        device_name=device, token_hash=hash_secret(secret),
    )
    db.session.add(session)
    db.session.flush()
    return session, secret


def revoke_session(session: DoorSession) -> None:
    """End one device's session (or API token) now."""
    with atomic():
        if session.revoked_at is None:
            session.revoked_at = utcnow()


def sign_out(secret: str | None, door_id: int) -> None:
    """End the session this device's secret opened at this door (nothing when it names no session there)."""
    if not secret or len(secret) > 200:
        return
    with atomic():
        session = db.session.scalar(sa.select(DoorSession).where(DoorSession.token_hash == hash_secret(secret),
                                                                DoorSession.door_id == door_id))
        if session is not None and session.revoked_at is None:
            session.revoked_at = utcnow()


def authenticate(secret: str | None, door_id: int | None = None, grace: timedelta | None = None) -> DoorContext:
    """The door context for a session secret, or DoorAccessError saying why not.

    door_id, when given (scanner URLs carry it), must match the session's door, so a
    session for one door or rally can never act at another. grace (offline uploads only:
    UPLOAD_GRACE) lets a link that expired less than that long ago through, marked link_expired;
    a revoked link or session is never let through.
    """
    if not secret or len(secret) > 200:
        raise DoorAccessError("unauthenticated", gettext("Open your door link again to start scanning."))
    row = _session_row(hash_secret(secret))
    if row is None:
        raise DoorAccessError("session_unknown", gettext("This device is not signed in at a door. Open your door link again."))
    if door_id is not None and row.door_id != door_id:
        raise DoorAccessError("wrong_door", gettext("This device is signed in at another door."))
    now = utcnow()
    if row.revoked_at is not None:
        raise DoorAccessError("session_revoked", gettext("This device was signed out by the organizer."))
    if row.link_id is not None:
        if row.link_revoked_at is not None:
            raise DoorAccessError("link_revoked", gettext("The door link for this device was revoked. Ask the organizer for a new one."))
        if row.link_expires_at + (grace or timedelta(0)) <= now:
            raise DoorAccessError("link_expired", gettext("The door link for this device has expired. Ask the organizer for a new one."))
        if row.link_not_before is not None and now < row.link_not_before:
            raise DoorAccessError("link_not_yet", gettext("The door link for this device does not open the scanner yet."))
    elif row.user_id is not None and not _is_organizer(row.user_id, row.campaign_id):
        raise DoorAccessError("session_revoked", gettext("The organizer who started this session no longer runs this campaign."))
    if now - row.last_seen_at > LAST_SEEN_EVERY:
        _touch(row.id, now)
    expired = row.link_id is not None and row.link_expires_at <= now
    return DoorContext(row.id, row.door_id, row.door_name, row.rally_id, row.campaign_id, row.role, row.device_name,
                       row.created_at, door_window(row.doors_open_at, row.starts_at, row.ends_at), row.public_key,
                       row.link_expires_at, expired)


_s, _link, _door, _rally = DoorSession.__table__, DoorLink.__table__, Door.__table__, Rally.__table__
#: Read on every door request (built once): the session behind a secret's hash, with its link, door and rally.
_SESSION_ROW = (
    sa.select(_s.c.id, _s.c.door_id, _s.c.rally_id, _s.c.role, _s.c.device_name, _s.c.revoked_at, _s.c.last_seen_at,
              _s.c.user_id, _s.c.link_id, _link.c.revoked_at.label("link_revoked_at"),
              _link.c.expires_at.label("link_expires_at"),
              _link.c.not_before.label("link_not_before"), _door.c.name.label("door_name"), _rally.c.campaign_id,
              _s.c.created_at, _rally.c.doors_open_at, _rally.c.starts_at, _rally.c.ends_at, _rally.c.public_key)
    .select_from(_s.join(_door, _door.c.id == _s.c.door_id).join(_rally, _rally.c.id == _s.c.rally_id)
                 .outerjoin(_link, _link.c.id == _s.c.link_id))
    .where(_s.c.token_hash == sa.bindparam("hash"))
)


def _session_row(token_hash: str):
    """The door session behind a secret's hash, with its link, door and rally facts (one query)."""
    return db.session.execute(_SESSION_ROW, {"hash": token_hash}).one_or_none()


def _is_organizer(user_id: int, campaign_id: int) -> bool:
    role = db.session.scalar(
        sa.select(Membership.role).where(Membership.user_id == user_id, Membership.campaign_id == campaign_id)
    )
    return role is not None and ROLE_RANK[role] >= ROLE_RANK["organizer"]


def _touch(session_id: int, now: datetime) -> None:
    # A separate short write; losing it is harmless, so never let it fail the request.
    try:
        with atomic():
            db.session.execute(sa.update(DoorSession).where(DoorSession.id == session_id).values(last_seen_at=now))
    except sa.exc.SQLAlchemyError:
        pass


def doors_of(rally_id: int) -> list[Door]:
    """The rally's doors by name."""
    return list(db.session.scalars(sa.select(Door).where(Door.rally_id == rally_id).order_by(Door.name)))


def links_of(rally_id: int) -> list[DoorLink]:
    """The rally's door links, newest first."""
    return list(db.session.scalars(sa.select(DoorLink).where(DoorLink.rally_id == rally_id).order_by(DoorLink.id.desc())))


def sessions_of(rally_id: int) -> list[DoorSession]:
    """The rally's door sessions and API tokens, newest first."""
    return list(
        db.session.scalars(sa.select(DoorSession).where(DoorSession.rally_id == rally_id).order_by(DoorSession.id.desc()))
    )
