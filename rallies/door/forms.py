"""Forms for door management (organizers) and for naming a scanning device."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

ROLE_CHOICES = [SelectChoice("scanner", _l("Scanner: scan, search, admit walk-ins")),
                SelectChoice("supervisor", _l("Supervisor: also undo check-ins and override refusals"))]


def _at_most_80() -> Length:
    return Length(max=80, message=_l("Use at most %(n)s characters.", n=80))


class DeviceForm(FlaskForm):
    device_name = StringField(_l("Name this device"), validators=[
        DataRequired(_l("Name this device so the scan log can tell devices apart.")), _at_most_80()],
        render_kw={"autocomplete": "off"})


class DoorForm(FlaskForm):
    name = StringField(_l("Door name"), validators=[DataRequired(_l("Name the door, for example “North gate”.")),
                                                    _at_most_80()])
    lanes = IntegerField(_l("Lanes"), default=1,
                         validators=[Optional(), NumberRange(1, 100, _l("From 1 to 100 lanes."))])


class LinkForm(FlaskForm):
    door_id = SelectField(_l("Door"), coerce=int, validate_choice=True)
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="scanner")
    valid_hours = IntegerField(_l("Valid for (hours, optional)"),
                               validators=[Optional(), NumberRange(1, 24 * 14, _l("From 1 hour to 14 days."))],
                               description=_l("Leave empty: the link works until 2 hours after the rally ends."))
    label = StringField(_l("Label (optional)"), validators=[Optional(), _at_most_80()])


class TokenForm(FlaskForm):
    door_id = SelectField(_l("Door"), coerce=int, validate_choice=True)
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="scanner")
    device_name = StringField(_l("Device name"), validators=[DataRequired(_l("Name the device or integration.")),
                                                             _at_most_80()])


class WalkinForm(FlaskForm):
    walkin_limit = IntegerField(
        _l("Walk-in places (people)"),
        validators=[Optional(), NumberRange(0, 1_000_000, _l("Use 0 or a positive number."))],
        description=_l("How many walk-in people the doors may admit, even if online RSVPs have taken every place. "
                       "Leave empty to let walk-ins fill only free places (any number when there is no capacity)."))
