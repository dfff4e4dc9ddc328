"""Secrets carried in links (team invites, door links, door sessions, ticket pages): made here, stored only hashed.

Ticket-page tokens (``/t/<token>``) are the one kind the app must read back later: the outbox
renders a ticket email, a reminder or a rally notice at send time from the RSVP id alone. So
an RSVP stores the token's SHA-256 (``token_hash``, the lookup key, URL-safe base64) and a copy sealed with
the KEK (``token_sealed``, see keys/sealing.py, bound to that hash). A copy of the
database holds neither the token nor anything that opens the ticket page.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass

from . import sealing

#: new_secret(): 43 URL-safe base64 characters; anything else never reaches the database.
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{43}$")


def new_secret() -> str:
    """A fresh URL-safe secret with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a secret: the only form stored, so a database leak opens nothing."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class PageToken:
    """A new ticket-page token and the two columns that store it."""

    token: str
    token_hash: str
    token_sealed: bytes

    def columns(self) -> dict:
        """The RSVP column values (``Rsvp(**t.columns())`` or an INSERT's values)."""
        return {"token_hash": self.token_hash, "token_sealed": self.token_sealed}


def page_token_hash(token: str) -> str:
    """The stored lookup key of a ticket-page token: SHA-256 in URL-safe base64 (43 characters)."""
    digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _token_aad(token_hash: str) -> bytes:
    return b"rallies:page-token:" + token_hash.encode("ascii")


def seal_page_token(token: str) -> PageToken:
    """The stored form of a given token (new tokens, and old raw ones being migrated)."""
    token_hash = page_token_hash(token)
    return PageToken(token, token_hash, sealing.seal(token.encode("ascii"), _token_aad(token_hash)))


def new_page_token() -> PageToken:
    """A fresh ticket-page token for a new RSVP (or a replaced one): the one place they are made."""
    return seal_page_token(new_secret())


def open_page_token(token_hash: str, token_sealed: bytes | memoryview) -> str:
    """The ticket-page token from its stored columns (sealing.SealError if they do not open)."""
    return sealing.open_sealed(token_sealed, _token_aad(token_hash)).decode("ascii")


def page_token(rsvp) -> str:
    """The ticket-page token of an RSVP (anything with ``token_hash`` and ``token_sealed``), for links."""
    return open_page_token(rsvp.token_hash, rsvp.token_sealed)


def page_token_key(token: str | None) -> str | None:
    """The lookup key (``Rsvp.token_hash``) for a token from a URL, or None when it cannot be one.

    Every lookup by ticket token goes through this. A leaked token_hash has a token's shape, but
    it is hashed again here, so it matches nothing.
    """
    if not token or len(token) != 43 or not _TOKEN.match(token):
        return None
    return page_token_hash(token)
