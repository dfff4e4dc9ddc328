"""Dates and times: the one way every page and email writes a moment, and the range of dates accepted.

Writing: a moment is shown in the rally's time zone, on a 12-hour clock, month before day, with the
zone's abbreviation ("Saturday, March 14, 2026, 7:00 PM CDT"); never the server's zone or the
device's, and never an IANA name such as "America/Chicago" that supporters don't read. CSV and JSON
exports keep ISO-like columns for machines (turnout/tallies.local_label).

Range: from the year 2000 to ten years ahead. No rally happens outside it, and at the edges of
Python's datetime range converting a venue's local time to UTC overflows (9999-12-31T23:59 in Chicago).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from wtforms.validators import ValidationError

#: The styles a moment is written in; every one ends with the zone's abbreviation.
STYLES = {
    "full": "%A, %B %-d, %Y, %-I:%M %p",  # Saturday, March 14, 2026, 7:00 PM CDT
    "short": "%b %-d, %Y, %-I:%M %p",  # Mar 14, 2026, 7:00 PM CDT
    "seconds": "%b %-d, %Y, %-I:%M:%S %p",  # Mar 14, 2026, 7:00:05 PM CDT (door logs)
    "time": "%-I:%M %p",  # 7:00 PM CDT
    "date": "%b %-d, %Y",  # Mar 14, 2026 CDT
}


def zone(tz_name: str | None) -> ZoneInfo:
    """The named zone, or UTC when the name is empty or unknown."""
    try:
        return ZoneInfo(tz_name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def zone_abbreviation(local: datetime) -> str:
    """CDT, EST, UTC; a zone without a letter abbreviation (tzdata writes "+03") becomes "UTC+03"."""
    name = local.tzname() or "UTC"
    return f"UTC{name}" if name[0] in "+-" else name


def local_time(moment: datetime | str | None, tz_name: str | None, style: str = "full") -> str:
    """A UTC moment (or an ISO 8601 string) in the rally's zone, in one of STYLES, with the zone named."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(zone(tz_name))
    return f"{local.strftime(STYLES[style])} {zone_abbreviation(local)}"


EARLIEST_YEAR = 2000
YEARS_AHEAD = 10


def latest_year() -> int:
    """The last year a date may fall in (ten years from now)."""
    return datetime.now(UTC).year + YEARS_AHEAD


def range_message() -> str:
    """What an organizer reads when a date is out of range."""
    return f"Choose a date between {EARLIEST_YEAR} and {latest_year()}."


def in_range(value: date) -> bool:
    """True if the date (or datetime, in whatever zone it names) falls in the allowed years."""
    return EARLIEST_YEAR <= value.year <= latest_year()


class InDateRange:
    """WTForms validator for date and datetime fields: an empty field passes (Optional or InputRequired decides)."""

    def __call__(self, form, field) -> None:
        if field.data is not None and not in_range(field.data):
            raise ValidationError(range_message())
