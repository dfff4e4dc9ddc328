"""Secrets the app must read back (rally signing keys, ticket-page tokens), sealed at rest with the KEK.

The key-encryption key (KEK) comes from the environment (``TICKET_KEK``), never from the
database and never from ``SECRET_KEY``, so a copy of the database alone opens nothing.
Older KEKs (``TICKET_KEK_OLD``) still open what they sealed until ``flask rotate-ticket-kek``
has resealed it under the current one.

Sealed format, version 1::

    b"\\x01" || kid (4 bytes) || nonce (12 bytes) || AES-256-GCM(secret, associated data)

``kid`` is the first 4 bytes of SHA-256 of the KEK that sealed it, so opening picks that KEK
directly and the rotation command can tell what is already current without decrypting. The
associated data names what the secret belongs to (e.g. the rally id), so a sealed value moved
to another row does not open there.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

VERSION = b"\x01"
KID_BYTES = 4
NONCE_BYTES = 12
#: Bytes a sealed value adds to its secret: version, kid, nonce and the GCM tag.
OVERHEAD = 1 + KID_BYTES + NONCE_BYTES + 16


class SealError(Exception):
    """A sealed secret cannot be opened: not sealed, sealed by a KEK we no longer hold, or tampered with."""


def parse_kek(text: str, name: str = "TICKET_KEK") -> bytes:
    """A KEK from its configured form (URL-safe or standard base64 of 32 bytes), or ValueError."""
    text = (text or "").strip()
    try:
        raw = base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError(f"{name} must be 32 random bytes in base64 "
                         "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))').")
    return raw


def kid(kek: bytes) -> bytes:
    """The short id written in front of everything this KEK seals."""
    return hashlib.sha256(b"rallies-kek-id:" + kek).digest()[:KID_BYTES]


@lru_cache(maxsize=8)
def _keyring(current: str, old: str) -> tuple[bytes, dict[bytes, AESGCM]]:
    """(current kid, {kid: cipher}) from the configured strings (parsed once per distinct setting)."""
    primary = parse_kek(current)
    ring = {kid(primary): AESGCM(primary)}
    for part in (old or "").split(","):
        if part.strip():
            key = parse_kek(part, "TICKET_KEK_OLD")
            ring.setdefault(kid(key), AESGCM(key))
    return kid(primary), ring


def check_config(config) -> None:
    """Raise ValueError when the configured KEKs are malformed (called at start-up)."""
    _keyring(config.get("TICKET_KEK", ""), config.get("TICKET_KEK_OLD", ""))


def _ring() -> tuple[bytes, dict[bytes, AESGCM]]:
    config = current_app.config
    return _keyring(config.get("TICKET_KEK", ""), config.get("TICKET_KEK_OLD", ""))


def seal(secret: bytes, aad: bytes) -> bytes:
    """Encrypt ``secret`` under the current KEK, bound to ``aad`` (what it belongs to)."""
    current, ring = _ring()
    nonce = os.urandom(NONCE_BYTES)
    return VERSION + current + nonce + ring[current].encrypt(nonce, secret, aad)


def open_sealed(sealed: bytes | memoryview | None, aad: bytes) -> bytes:
    """The secret inside ``sealed``, or SealError (never the raw bytes of an unsealed value)."""
    data = bytes(sealed or b"")
    if len(data) <= OVERHEAD or data[:1] != VERSION:
        raise SealError("not a sealed value (run `flask rotate-ticket-kek`)")
    cipher = _ring()[1].get(data[1:1 + KID_BYTES])
    if cipher is None:
        raise SealError("sealed by a KEK that is not configured (set TICKET_KEK_OLD)")
    nonce = data[1 + KID_BYTES:1 + KID_BYTES + NONCE_BYTES]
    try:
        return cipher.decrypt(nonce, data[1 + KID_BYTES + NONCE_BYTES:], aad)
    except InvalidTag as exc:
        raise SealError("sealed value does not open here (moved or altered)") from exc


def is_current(sealed: bytes | memoryview | None) -> bool:
    """True if ``sealed`` was sealed by the current KEK (nothing to rotate)."""
    data = bytes(sealed or b"")
    return data[:1] == VERSION and data[1:1 + KID_BYTES] == _ring()[0]
