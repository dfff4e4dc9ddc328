"""Forms for rally management and the public discovery pages.

These check shape (required, lengths, numbers, dates within forms/dates.py's range); the rally
service checks meaning (time order, time zone, clock changes) and its errors are shown on the
same fields.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from ..dates import InDateRange
from ..models.rallies import VISIBILITY_DRAFT, VISIBILITY_LISTED, VISIBILITY_UNLISTED

VISIBILITY_CHOICES = [
    SelectChoice(VISIBILITY_DRAFT, _l("Draft (only your team can see it)")),
    SelectChoice(VISIBILITY_LISTED, _l("Published and listed (anyone can find it)")),
    SelectChoice(VISIBILITY_UNLISTED, _l("Published, unlisted (reachable by link only)")),
]
_DT = "%Y-%m-%dT%H:%M"


class WholeNumberField(IntegerField):
    """An IntegerField that refuses numbers too large for a float: wtforms' NumberRange calls math.isnan on
    the value, which raises OverflowError (a 500) for a 24-digit "capacity"."""

    def process_formdata(self, valuelist):
        """Parse as IntegerField does, then refuse what no float can hold."""
        super().process_formdata(valuelist)
        if self.data is not None and abs(self.data) > 2**53:
            self.data = None
            raise ValueError(_l("Enter a smaller number."))


def _max(n: int) -> Length:
    return Length(max=n, message=_l("Use at most %(n)s characters.", n=n))


class RallyForm(FlaskForm):
    """Create or edit a rally: every field an organizer sets (times are local to the venue)."""

    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the rally a title.")), _max(160)])
    description = TextAreaField(_l("Description"), validators=[Optional(), _max(5000)])
    #: Optional translations (rallies/texts.py): supporters reading Spanish see these, else the main text.
    title_es = StringField(_l("Title in Spanish (optional)"), validators=[Optional(), _max(160)],
                           render_kw={"lang": "es"})
    description_es = TextAreaField(_l("Description in Spanish (optional)"), validators=[Optional(), _max(5000)],
                                   render_kw={"lang": "es"})
    starts_local = DateTimeLocalField(_l("Starts"), format=_DT,
                                      validators=[InputRequired(_l("Enter the start date and time.")), InDateRange()])
    ends_local = DateTimeLocalField(_l("Ends"), format=_DT,
                                    validators=[InputRequired(_l("Enter the end date and time.")), InDateRange()])
    doors_local = DateTimeLocalField(_l("Doors open"), format=_DT, validators=[Optional(), InDateRange()])
    timezone = StringField(_l("Time zone"), validators=[Optional(), _max(64)],
                           render_kw={"list": "timezones", "autocomplete": "off"})
    venue_name = StringField(_l("Venue"), validators=[DataRequired(_l("Name the venue.")), _max(160)])
    address = StringField(_l("Street address"), validators=[Optional(), _max(200)],
                          render_kw={"autocomplete": "street-address"})
    city = StringField(_l("City"), validators=[DataRequired(_l("Enter the city.")), _max(100)],
                       render_kw={"autocomplete": "address-level2"})
    state = StringField(_l("State or region"), validators=[Optional(), _max(100)],
                        render_kw={"autocomplete": "address-level1"})
    postal_code = StringField(_l("Postal code"), validators=[Optional(), _max(20)],
                              render_kw={"autocomplete": "postal-code"})
    country = StringField(_l("Country code"), default="US", validators=[
        DataRequired(_l("Enter the two-letter country code, e.g. US.")),
        Regexp(r"^[A-Za-z]{2}$", message=_l("Use the two-letter country code, e.g. US."))],
        render_kw={"maxlength": 2, "autocomplete": "country"})
    capacity = WholeNumberField(_l("Capacity (people)"), validators=[
        Optional(), NumberRange(min=1, max=10_000_000, message=_l("Capacity must be at least 1 (or leave it empty)."))])
    max_guests = WholeNumberField(_l("Guests per RSVP"), default=2, validators=[
        InputRequired(_l("Enter how many guests one RSVP may bring (0 for none).")),
        NumberRange(min=0, max=20, message=_l("Allow between 0 and 20 guests per RSVP."))])
    safe_capacity = WholeNumberField(_l("Safe capacity (people inside at once)"), validators=[
        Optional(), NumberRange(min=1, max=10_000_000, message=_l("Safe capacity must be at least 1 (or leave it empty)."))])
    reentry_allowed = BooleanField(_l("People who leave may come back in"), default=True)
    overflow_name = StringField(_l("Overflow area"), validators=[Optional(), _max(80)])
    overflow_capacity = WholeNumberField(_l("Overflow area capacity"), validators=[
        Optional(), NumberRange(min=1, max=10_000_000, message=_l("Overflow capacity must be at least 1 (or leave it empty)."))])
    accessibility_notes = TextAreaField(_l("Accessibility notes"), validators=[Optional(), _max(2000)])
    confirm_by_email = BooleanField(_l("Hold places only after the supporter confirms by email"))
    send_thank_you = BooleanField(_l("After the rally, thank those who came"), default=True)
    send_missed_you = BooleanField(_l("After the rally, tell no-shows about the next rallies near them"), default=True)
    visibility = SelectField(_l("Visibility"), choices=VISIBILITY_CHOICES, default=VISIBILITY_DRAFT)

    def validate_overflow_capacity(self, field):
        """An overflow capacity needs the overflow area's name."""
        if field.data is not None and not (self.overflow_name.data or "").strip():
            raise ValidationError(_l("Name the overflow area to give it a capacity."))

    def details(self) -> dict:
        """The cleaned values, keyed like RallyDetails (empty strings for blank optional text)."""
        data = {name: field.data for name, field in self._fields.items() if name != "csrf_token"}
        for name in ("description", "timezone", "address", "state", "postal_code", "accessibility_notes",
                     "overflow_name"):
            data[name] = data[name] or ""
        data["country"] = (data["country"] or "US").upper()
        data["translations"] = {"es": {"title": data.pop("title_es") or "", "description": data.pop("description_es") or ""}}
        return data

    @staticmethod
    def prefill(details: dict) -> dict:
        """Form data for an existing rally's details (RallyDetails as a dict), translations included."""
        spanish = (details.get("translations") or {}).get("es") or {}
        return {**details, "title_es": spanish.get("title", ""), "description_es": spanish.get("description", "")}


class ChangeNoticeForm(FlaskForm):
    """The preview step of an edit that moves a rally: tell supporters, or save quietly.

    Posted together with the RallyForm, whose CSRF token covers both.
    """

    class Meta:
        csrf = False

    notify = BooleanField(_l("Tell supporters (email everyone going or on the waitlist)"), default=True)


class CancelForm(FlaskForm):
    """Cancel a rally with a message for its page and its supporters."""

    message = TextAreaField(_l("Message to supporters"), validators=[
        DataRequired(_l("Tell supporters why the rally is cancelled.")), _max(2000)])


class PinForm(FlaskForm):
    """Coordinates typed by hand or filled in by dragging the map marker."""

    lat = DecimalField("Latitude", places=6, validators=[
        InputRequired("Enter a latitude."), NumberRange(min=-90, max=90, message="Latitude is between -90 and 90.")])
    lon = DecimalField("Longitude", places=6, validators=[
        InputRequired("Enter a longitude."),
        NumberRange(min=-180, max=180, message="Longitude is between -180 and 180.")])


class ListFilterForm(FlaskForm):
    """GET filters on the public list (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    state = StringField("State", validators=[Optional(), _max(100)])
    city = StringField("City", validators=[Optional(), _max(100)])


class NearForm(FlaskForm):
    """GET search: a ZIP or "City, ST", or browser coordinates (filled by static/js/near.js)."""

    class Meta:
        csrf = False

    q = StringField(_l("ZIP code or city"), validators=[Optional(), _max(120)],
                    render_kw={"placeholder": _l("78701 or Austin, TX"), "autocomplete": "postal-code"})
    radius = IntegerField(_l("Within"), default=25, validators=[
        Optional(), NumberRange(min=1, max=500, message=_l("Choose a radius between 1 and 500."))])
    unit = SelectField(_l("Unit"), choices=[SelectChoice("mi", _l("miles")), SelectChoice("km", _l("km"))],
                       default="mi")
    lat = DecimalField("Latitude", validators=[Optional(), NumberRange(min=-90, max=90)],
                       render_kw={"type": "hidden"})
    lon = DecimalField("Longitude", validators=[Optional(), NumberRange(min=-180, max=180)],
                       render_kw={"type": "hidden"})
