"""iCalendar (RFC 5545) files for a rally, written by hand: one VEVENT, escaped and folded."""

from __future__ import annotations

from datetime import UTC, datetime

from ..models import utcnow


def escape_text(value: str) -> str:
    """TEXT escaping (RFC 5545 3.3.11): backslash, semicolon, comma and newlines."""
    value = (value or "").replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold_line(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1) without splitting a UTF-8 character."""
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return line
    parts, current, limit = [], b"", 75
    for ch in line:
        b = ch.encode("utf-8")
        if len(current) + len(b) > limit:
            parts.append(current.decode("utf-8"))
            current, limit = b"", 74  # continuation lines start with a space
        current += b
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def rally_ics(rally, *, uid_domain: str, url: str = "", status_note: str = "") -> str:
    """A VCALENDAR with the rally as one event (times in UTC; cancelled rallies say so)."""
    location = ", ".join(p for p in (rally.venue_name, rally.address, rally.city, rally.state, rally.postal_code) if p)
    description = "\n".join(p for p in (status_note, rally.description, url) if p)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Rallies//Rallies//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:rally-{rally.id}@{uid_domain}",
        f"DTSTAMP:{_stamp(utcnow())}",
        f"DTSTART:{_stamp(rally.starts_at)}",
        f"DTEND:{_stamp(rally.ends_at)}",
        f"SUMMARY:{escape_text(rally.title)}",
        f"LOCATION:{escape_text(location)}",
        f"DESCRIPTION:{escape_text(description)}",
        f"STATUS:{'CANCELLED' if rally.is_cancelled else 'CONFIRMED'}",
        f"SEQUENCE:{int(rally.updated_at.timestamp()) if rally.updated_at else 0}",
    ]
    if url:
        lines.append(f"URL:{url}")
    if rally.lat is not None and rally.lon is not None:
        lines.append(f"GEO:{rally.lat:.6f};{rally.lon:.6f}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(fold_line(line) for line in lines) + "\r\n"
