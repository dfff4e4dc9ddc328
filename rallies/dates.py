"""Dates and times: the one way every page and email writes a moment, and the range of dates accepted.

Writing: a moment is shown in the rally's time zone, in the reader's language, by Babel (CLDR): in
English on a 12-hour clock, month before day, with the zone's abbreviation ("Saturday, March 14, 2026,
7:00 PM CDT"); in Spanish the Latin-American way, with the zone named in Spanish ("sábado, 14 de marzo
de 2026, 7:00 p.m. hora central"). Never the server's zone or the device's, and never an IANA name such
as "America/Chicago" that supporters don't read. CSV and JSON exports keep ISO-like columns for
machines (turnout/tallies.local_label).

Range: from the year 2000 to ten years ahead. No rally happens outside it, and at the edges of
Python's datetime range converting a venue's local time to UTC overflows (9999-12-31T23:59 in Chicago).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime, get_timezone_name
from babel.numbers import format_decimal
from wtforms.validators import ValidationError

#: The styles a moment is written in, as CLDR (date, time) lengths; every one ends with the zone.
STYLES = {
    "full": ("full", "short"),  # Saturday, March 14, 2026, 7:00 PM CDT
    "short": ("medium", "short"),  # Mar 14, 2026, 7:00 PM CDT
    "seconds": ("medium", "medium"),  # Mar 14, 2026, 7:00:05 PM CDT (door logs)
    "time": (None, "short"),  # 7:00 PM CDT
    "date": ("medium", None),  # Mar 14, 2026 CDT
}
#: The regional conventions each language's dates follow: US English, and Latin-American Spanish
#: (the 12-hour clock supporters in the US read).
FORMAT_LOCALES = {"en": "en_US", "es": "es_419"}


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


def zone_name(local: datetime, locale: Locale) -> str:
    """The zone as readers of the language name it: English keeps the abbreviation (CDT), others get
    CLDR's generic name ("hora central"); UTC stays UTC."""
    if locale.language == "en" or local.utcoffset() is None or str(local.tzinfo) in ("UTC", "Etc/UTC"):
        return zone_abbreviation(local)
    return get_timezone_name(local, width="long", zone_variant="generic", locale=locale)


def _reader_locale(locale: str | None) -> Locale:
    if locale is None:
        try:
            from flask_babel import get_locale

            locale = str(get_locale() or "en")
        except RuntimeError:  # no application context: a CLI or a plain function call
            locale = "en"
    code = str(locale).split("_")[0].split("-")[0]
    try:
        return Locale.parse(FORMAT_LOCALES.get(code, code))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_US")


def number(value: float | int | None, pattern: str = "#,##0.##", locale: str | None = None) -> str:
    """A number written the reader's way (1,234.5 in English and Latin-American Spanish), by Babel."""
    if value is None:
        return ""
    return format_decimal(value, pattern, locale=_reader_locale(locale))


def local_time(moment: datetime | str | None, tz_name: str | None, style: str = "full",
               locale: str | None = None) -> str:
    """A UTC moment (or an ISO 8601 string) in the rally's zone, in one of STYLES, with the zone named,
    in ``locale`` (default: the language of the page or email being rendered)."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(zone(tz_name))
    reader = _reader_locale(locale)
    date_length, time_length = STYLES[style]
    date_pattern = reader.date_formats[date_length].pattern if date_length else ""
    time_pattern = reader.time_formats[time_length].pattern if time_length else ""
    if date_pattern and time_pattern:
        pattern = reader.datetime_formats["medium"].format(time_pattern, date_pattern)
    else:
        pattern = date_pattern or time_pattern
    # CLDR puts narrow no-break spaces before AM/PM; plain spaces read the same and survive every mail client.
    text = format_datetime(local, pattern, locale=reader).replace("\u202f", " ").replace("\xa0", " ")
    return f"{text} {zone_name(local, reader)}"


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
