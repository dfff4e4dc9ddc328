"""Forms for door management (organizers) and for naming a scanning device."""

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

ROLE_CHOICES = [SelectChoice("scanner", "Scanner: scan, search, admit walk-ins"),
                SelectChoice("supervisor", "Supervisor: also undo check-ins and override refusals")]


class DeviceForm(FlaskForm):
    device_name = StringField("Name this device", validators=[
        DataRequired("Name this device so the scan log can tell devices apart."),
        Length(max=80, message="Use at most 80 characters.")], render_kw={"autocomplete": "off"})


class DoorForm(FlaskForm):
    name = StringField("Door name", validators=[DataRequired("Name the door, for example “North gate”."),
                                                Length(max=80, message="Use at most 80 characters.")])
    lanes = IntegerField("Lanes", default=1, validators=[Optional(), NumberRange(1, 100, "From 1 to 100 lanes.")])


class LinkForm(FlaskForm):
    door_id = SelectField("Door", coerce=int, validate_choice=True)
    role = SelectField("Role", choices=ROLE_CHOICES, default="scanner")
    valid_hours = IntegerField("Valid for (hours, optional)",
                               validators=[Optional(), NumberRange(1, 24 * 14, "From 1 hour to 14 days.")],
                               description="Leave empty: the link works until 2 hours after the rally ends.")
    label = StringField("Label (optional)", validators=[Optional(), Length(max=80, message="Use at most 80 characters.")])


class TokenForm(FlaskForm):
    door_id = SelectField("Door", coerce=int, validate_choice=True)
    role = SelectField("Role", choices=ROLE_CHOICES, default="scanner")
    device_name = StringField("Device name", validators=[DataRequired("Name the device or integration."),
                                                         Length(max=80, message="Use at most 80 characters.")])


class WalkinForm(FlaskForm):
    walkin_limit = IntegerField(
        "Walk-in places (people)", validators=[Optional(), NumberRange(0, 1_000_000, "Use 0 or a positive number.")],
        description="How many walk-in people the doors may admit, even if online RSVPs have taken every place. "
                    "Leave empty to let walk-ins fill only free places (any number when there is no capacity).")
