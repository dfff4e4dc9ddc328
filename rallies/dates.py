"""The range every date or time an organizer types (or an API query names) must fall in.

From the year 2000 to ten years ahead: no rally happens outside it, and at the edges of Python's
datetime range converting a venue's local time to UTC overflows (9999-12-31T23:59 in Chicago).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from wtforms.validators import ValidationError

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
