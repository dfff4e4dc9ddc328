"""Filter forms for the turnout pages (GET forms: no CSRF, nothing is written)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from ..dates import InDateRange
from .population import is_known_state
from .tallies import SORTS, STATUSES, RallyFilters

MAX_PAGE = 100_000
STATUS_LABELS = {"all": "All", "upcoming": "Upcoming", "live": "Doors open now", "past": "Past", "cancelled": "Cancelled"}
SORT_LABELS = {
    "date": "Date", "title": "Title", "city": "City", "state": "State", "capacity": "Capacity", "rsvps": "RSVPs",
    "checked_in": "Checked in", "walkins": "Walk-ins", "show_up": "Show-up rate", "fill": "Capacity fill",
    "peak": "Peak arrivals/min",
}


class FilterForm(FlaskForm):
    """Date range, state, city and status: shared by the table, the roll-ups, the exports and the API."""

    class Meta:
        csrf = False

    date_from = DateField("From", validators=[Optional(), InDateRange()], format="%Y-%m-%d")
    date_to = DateField("To", validators=[Optional(), InDateRange()], format="%Y-%m-%d")
    state = StringField("State", validators=[Optional(), Length(max=100)], filters=[lambda v: (v or "").strip()])
    city = StringField("City", validators=[Optional(), Length(max=100)], filters=[lambda v: (v or "").strip()])
    status = SelectField("Status", choices=[SelectChoice(s, STATUS_LABELS[s]) for s in STATUSES], default="all")

    def __init__(self, *args, known_states: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self._known_states = {s.upper() for s in known_states}

    def validate_city(self, field):
        """No control characters (PostgreSQL refuses NUL in a query, and none belongs in a city)."""
        if field.data and any(ord(ch) < 32 or ord(ch) == 127 for ch in field.data):
            raise ValidationError("The city contains characters that cannot be part of a name.")

    def validate_date_to(self, field):
        """The range must not be inverted."""
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date is before the start date. Swap them or clear one.")

    def validate_state(self, field):
        """A US state code, or a region the campaign actually has rallies in."""
        if field.data and any(ord(ch) < 32 or ord(ch) == 127 for ch in field.data):
            raise ValidationError("The state contains characters that cannot be part of a name.")
        if field.data and not (is_known_state(field.data) or field.data.upper() in self._known_states):
            raise ValidationError(f"Unknown state \u201c{field.data[:40]}\u201d. Use a two-letter code such as IL.")

    def filters(self) -> RallyFilters:
        """The validated filters for the services."""
        return RallyFilters(self.date_from.data, self.date_to.data, (self.state.data or "").upper(),
                            self.city.data or "", self.status.data or "all")


class TableForm(FilterForm):
    """The comparison table: filters plus sort and page."""

    sort = SelectField("Sort by", choices=[SelectChoice(k, v) for k, v in SORT_LABELS.items()], default="date")
    dir = SelectField("Order", choices=[SelectChoice("desc", "Descending"), SelectChoice("asc", "Ascending")], default="desc")
    page = IntegerField("Page", validators=[Optional(), NumberRange(1, MAX_PAGE, "Page must be a whole number from "
                                                                    f"1 to {MAX_PAGE:,}.")], default=1)

    def validate_sort(self, field):
        """Only known columns."""
        if field.data not in SORTS:
            raise ValidationError("Unknown sort column.")


class RollupForm(FilterForm):
    """Roll-ups: filters plus the level (city or state)."""

    level = SelectField("Group by", choices=[SelectChoice("city", "City"), SelectChoice("state", "State")], default="city")
