"""Door management writes, each in its own transaction: doors, walk-in places, door links, API tokens,
device sessions opened and ended.

The rules live in door/doors.py (whose functions leave the commit to their caller); these are
the units the organizer and door pages ask for. Who may ask is the view's business.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from ..database import atomic
from ..extensions import db
from ..keys.link_secrets import hash_secret
from ..models import Door, DoorLink, DoorSession, Rally, utcnow
from . import doors


def create_door(rally: Rally, name: str, lanes: int = 1) -> Door:
    """Add an entrance to the rally (DoorError for an empty or duplicate name)."""
    with atomic():
        return doors.create_door(rally, name, lanes)


def set_walkin_limit(rally: Rally, limit: int | None) -> None:
    """How many walk-in people the doors may admit beyond free places (None: free places only)."""
    with atomic():
        doors.set_walkin_limit(rally, limit)


def create_link(door: Door, role: str, valid_hours: int, label: str = "",
                created_by_id: int | None = None) -> tuple[DoorLink, str]:
    """A door link that works for ``valid_hours`` from now; returns (DoorLink, secret), the secret shown once."""
    with atomic():
        return doors.create_link(door, role, utcnow() + timedelta(hours=valid_hours), label, created_by_id)


def create_api_token(door: Door, role: str, device_name: str, user_id: int) -> tuple[DoorSession, str]:
    """An API token for a third-party device at one door; returns (session, secret), the secret shown once."""
    with atomic():
        return doors.create_api_token(door, role, device_name, user_id)


def revoke_link(link: DoorLink) -> None:
    """Revoke a link now: every device that opened it stops at its next request."""
    with atomic():
        doors.revoke_link(link)


def revoke_session(session: DoorSession) -> None:
    """Sign one device (or API token) out now."""
    with atomic():
        doors.revoke_session(session)


def open_link(secret: str, device_name: str, max_devices: int = doors.DEVICES_PER_LINK) -> tuple[DoorSession, str]:
    """Start a door session on a named device from a link secret; returns (session, bearer secret)."""
    with atomic():
        return doors.open_link(secret, device_name, max_devices)


def organizer_session(user_id: int, door: Door, device_name: str) -> tuple[DoorSession, str]:
    """A supervisor session for a campaign organizer on this device; returns (session, bearer secret)."""
    with atomic():
        return doors.organizer_session(user_id, door, device_name)


def sign_out(secret: str | None, door_id: int) -> None:
    """End the session this device's secret opened at this door (nothing when it names no session there)."""
    if not secret or len(secret) > 200:
        return
    with atomic():
        session = db.session.scalar(sa.select(DoorSession).where(DoorSession.token_hash == hash_secret(secret),
                                                                DoorSession.door_id == door_id))
        if session is not None:
            doors.revoke_session(session)
