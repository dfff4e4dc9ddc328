"""Secrets carried in links (team invites, door links, door sessions): made here, stored only hashed."""

from __future__ import annotations

import hashlib
import secrets


def new_secret() -> str:
    """A fresh URL-safe secret with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a secret: the only form stored, so a database leak opens nothing."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
