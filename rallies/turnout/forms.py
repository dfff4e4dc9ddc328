"""Filter forms for the turnout pages (GET forms: no CSRF, nothing is written)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from ..dates import InDateRange
from .population import is_known_state
from .tallies import SORTS, STATUSES, RallyFilters

MAX_PAGE = 100_000
STATUS_LABELS = {"all": _l("All"), "upcoming": _l("Upcoming"), "live": _l("Doors open now"), "past": _l("Past"),
                 "cancelled": _l("Cancelled")}
SORT_LABELS = {
    "date": _l("Date"), "title": _l("Title"), "city": _l("City"), "state": _l("State"), "capacity": _l("Capacity"),
    "rsvps": _l("RSVPs"), "checked_in": _l("Checked in"), "walkins": _l("Walk-ins"), "show_up": _l("Show-up rate"),
    "fill": _l("Capacity fill"), "peak": _l("Peak arrivals/min"),
}


class FilterForm(FlaskForm):
    """Date range, state, city and status: shared by the table, the roll-ups, the exports and the API."""

    class Meta:
        csrf = False

    date_from = DateField(_l("From"), validators=[Optional(), InDateRange()], format="%Y-%m-%d")
    date_to = DateField(_l("To"), validators=[Optional(), InDateRange()], format="%Y-%m-%d")
    state = StringField(_l("State"), validators=[Optional(), Length(max=100)], filters=[lambda v: (v or "").strip()])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)], filters=[lambda v: (v or "").strip()])
    status = SelectField(_l("Status"), choices=[SelectChoice(s, STATUS_LABELS[s]) for s in STATUSES], default="all")

    def __init__(self, *args, known_states: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self._known_states = {s.upper() for s in known_states}

    def validate_city(self, field):
        """No control characters (PostgreSQL refuses NUL in a query, and none belongs in a city)."""
        if field.data and any(ord(ch) < 32 or ord(ch) == 127 for ch in field.data):
            raise ValidationError(_("The city contains characters that cannot be part of a name."))

    def validate_date_to(self, field):
        """The range must not be inverted."""
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_("The end date is before the start date. Swap them or clear one."))

    def validate_state(self, field):
        """A US state code, or a region the campaign actually has rallies in."""
        if field.data and any(ord(ch) < 32 or ord(ch) == 127 for ch in field.data):
            raise ValidationError(_("The state contains characters that cannot be part of a name."))
        if field.data and not (is_known_state(field.data) or field.data.upper() in self._known_states):
            raise ValidationError(_("Unknown state \u201c%(state)s\u201d. Use a two-letter code such as IL.", state=field.data[:40]))

    def filters(self) -> RallyFilters:
        """The validated filters for the services."""
        return RallyFilters(self.date_from.data, self.date_to.data, (self.state.data or "").upper(),
                            self.city.data or "", self.status.data or "all")


class TableForm(FilterForm):
    """The comparison table: filters plus sort and page."""

    sort = SelectField(_l("Sort by"), choices=[SelectChoice(k, v) for k, v in SORT_LABELS.items()], default="date")
    dir = SelectField(_l("Order"), choices=[SelectChoice("desc", _l("Descending")), SelectChoice("asc", _l("Ascending"))], default="desc")
    page = IntegerField(_l("Page"), validators=[Optional(), NumberRange(1, MAX_PAGE, _l(
        "Page must be a whole number from 1 to %(max)s.", max=f"{MAX_PAGE:,}"))], default=1)

    def validate_sort(self, field):
        """Only known columns."""
        if field.data not in SORTS:
            raise ValidationError(_("Unknown sort column."))


class RollupForm(FilterForm):
    """Roll-ups: filters plus the level (city or state)."""

    level = SelectField(_l("Group by"), choices=[SelectChoice("city", _l("City")), SelectChoice("state", _l("State"))], default="city")
