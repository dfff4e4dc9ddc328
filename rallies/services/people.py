"""How a person's name and contact details are shown at the door and searched (no database access)."""

from __future__ import annotations

import unicodedata

import phonenumbers


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


def search_text(name: str, email: str | None, phone: str) -> str:
    """The folded 'name email phone national-digits' string that prefix search runs on."""
    national = ""
    if phone:
        try:
            national = str(phonenumbers.parse(phone).national_number)
        except phonenumbers.NumberParseException:
            national = ""
    return " ".join(p for p in (fold(name), email or "", phone, national) if p)[:400]


def name_matches(name: str, term: str) -> bool:
    """True if the folded term starts the folded name or one of its words ('nun' matches 'Ángela Núñez')."""
    folded, term = fold(name), fold(term).strip()
    return bool(term) and (folded.startswith(term) or f" {term}" in folded)
