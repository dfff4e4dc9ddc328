"""How a person's name and contact details are shown at the door and searched (no database access)."""

from __future__ import annotations

import unicodedata


def door_name(name: str) -> str:
    """'Ana María López' -> 'Ana L.' (first name and last initial, for the door list)."""
    parts = name.split()
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0][:80]
    return f"{parts[0]} {parts[-1][0]}."[:80]


def fold(text: str) -> str:
    """Lower-case and strip accents ('José' -> 'jose') for search."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def search_text(name: str) -> str:
    """The folded name that the door's and the organizers' prefix search run on.

    Names only: door devices search it, and must never find (or leak, one guessed character
    at a time) an email or a phone number.
    """
    return fold(name)[:400]
