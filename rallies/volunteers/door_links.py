"""A volunteer's own door link: its secret is kept sealed with the KEK (keys/sealing.py) for their email."""

from __future__ import annotations

from ..keys import sealing
from ..models import DoorLink, VolunteerSignup


def _aad(link: DoorLink) -> bytes:
    return _aad_of(link.token_hash)


def _aad_of(link_token_hash: str) -> bytes:
    return b"rallies:volunteer-door-link:" + link_token_hash.encode("ascii")


def seal_link_secret(link: DoorLink, secret: str) -> bytes:
    """The link's secret sealed, bound to that link (a copy of the database opens no door)."""
    return sealing.seal(secret.encode("ascii"), _aad(link))


def reseal_link_secret(link_token_hash: str, sealed: bytes) -> bytes:
    """The same secret sealed under the current KEK (``flask rotate-ticket-kek``)."""
    aad = _aad_of(link_token_hash)
    return sealing.seal(sealing.open_sealed(sealed, aad), aad)


def door_link_secret(signup: VolunteerSignup) -> str | None:
    """The secret of the volunteer's own door link (for their email), or None when it is gone or revoked."""
    link = signup.link
    if link is None or link.revoked_at is not None or not signup.link_sealed:
        return None
    return sealing.open_sealed(signup.link_sealed, _aad(link)).decode("ascii")
