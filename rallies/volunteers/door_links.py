"""A volunteer's own door link: its secret is kept sealed with the KEK (keys/sealing.py) for their email."""

from __future__ import annotations

from ..keys import sealing
from ..models import DoorLink, VolunteerSignup


def _aad(link: DoorLink) -> bytes:
    return b"rallies:volunteer-door-link:" + link.token_hash.encode("ascii")


def seal_link_secret(link: DoorLink, secret: str) -> bytes:
    """The link's secret sealed, bound to that link (a copy of the database opens no door)."""
    return sealing.seal(secret.encode("ascii"), _aad(link))


def door_link_secret(signup: VolunteerSignup) -> str | None:
    """The secret of the volunteer's own door link (for their email), or None when it is gone or revoked."""
    link = signup.link
    if link is None or link.revoked_at is not None or not signup.link_sealed:
        return None
    return sealing.open_sealed(signup.link_sealed, _aad(link)).decode("ascii")
