"""The one place that normalises email addresses, and decides when two addresses are one mailbox."""

from __future__ import annotations

import re

#: Gmail ignores dots in the local part, and googlemail.com is the same service.
_GMAIL = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
_DIGITS_DOTS = re.compile(r"[0-9.]")


def normalise_email(value: str | None) -> str:
    """Trim surrounding space and lower-case the whole address."""
    return (value or "").strip().lower()


def canonical_email(value: str | None) -> str:
    """The mailbox an address delivers to: lower case, no ``+tag`` (any domain), no dots at Gmail.

    Duplicate detection and per-mailbox limits use it; mail still goes to the address as typed.
    """
    email = normalise_email(value)
    local, at, domain = email.rpartition("@")
    if not at or not local or "@" in local:
        return email
    local = local.split("+", 1)[0] or local  # "+only@x" keeps its local part: there is nothing else
    if domain in _GMAIL:
        local, domain = local.replace(".", "") or local, _GMAIL[domain]
    return f"{local}@{domain}"


def lookalike_key(value: str | None) -> str:
    """A looser key that groups addresses a farmer would make up: the canonical mailbox without digits or dots."""
    canonical = canonical_email(value)
    local, at, domain = canonical.rpartition("@")
    if not at:
        return canonical
    return f"{_DIGITS_DOTS.sub('', local) or local}@{domain}"
