"""Forms for shifts (organizers) and volunteer sign-ups (the public).

They check shape; the shift and sign-up services check meaning (time order, the door's rally, free places).
"""

from __future__ import annotations

import secrets

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, EmailField, HiddenField, SelectField, StringField, TelField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from ..dates import InDateRange
from ..mail.addresses import normalise_email
from ..models.door import DOOR_ROLE_SCANNER, DOOR_ROLE_SUPERVISOR
from ..rallies.forms import WholeNumberField
from ..rsvp.forms import check_name, e164_or_error
from .shifts import MAX_SLOTS

_DT = "%Y-%m-%dT%H:%M"
ROLE_CHOICES = [SelectChoice(DOOR_ROLE_SCANNER, _l("Scanner")), SelectChoice(DOOR_ROLE_SUPERVISOR, _l("Supervisor"))]


def _collapse(value: str | None) -> str:
    return " ".join((value or "").split())


class ShiftForm(FlaskForm):
    """A shift: door, start and end (local to the rally), volunteers needed, role, notes."""

    door_id = SelectField(_l("Door"), coerce=int, validators=[InputRequired(_l("Choose a door."))])
    starts_local = DateTimeLocalField(_l("Starts"), format=_DT,
                                      validators=[InputRequired(_l("Enter the start date and time.")), InDateRange()])
    ends_local = DateTimeLocalField(_l("Ends"), format=_DT,
                                    validators=[InputRequired(_l("Enter the end date and time.")), InDateRange()])
    slots = WholeNumberField(_l("Volunteers needed"), default=2, validators=[
        InputRequired(_l("Say how many volunteers the shift needs.")),
        NumberRange(min=1, max=MAX_SLOTS, message=_l("A shift needs between 1 and %(max)s volunteers.", max=MAX_SLOTS))])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default=DOOR_ROLE_SCANNER)
    notes = TextAreaField(_l("Notes for volunteers (optional)"), validators=[
        Optional(), Length(max=500, message=_l("Use at most %(n)s characters.", n=500))],
        description=_l("For example: bring a charged phone."))


class SignupForm(FlaskForm):
    """A volunteer: which shift, name, email, phone."""

    shift_id = HiddenField(validators=[DataRequired(_l("Choose a shift."))])
    name = StringField(_l("Your name"), filters=[_collapse], validators=[
        DataRequired(_l("Enter your name.")), Length(max=120, message=_l("Use at most %(n)s characters.", n=120))])
    email = EmailField(_l("Email"), filters=[normalise_email], validators=[
        DataRequired(_l("Enter your email so we can send your door link.")),
        Length(max=254, message=_l("Use at most %(n)s characters.", n=254)),
        Email(_l("Enter a valid email address, like name@example.com."), check_deliverability=False)])
    phone = TelField(_l("Mobile phone"), validators=[
        DataRequired(_l("Enter a phone number the door team can reach you on.")),
        Length(max=32, message=_l("That number is too long."))])

    def __init__(self, *args, region: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.region = region or current_app.config.get("SMS_DEFAULT_REGION", "US")

    def validate_name(self, field):
        """Names may be any script, but not control characters."""
        check_name(field.data)

    def validate_phone(self, field):
        """Accept national or international format; store E.164."""
        field.data = e164_or_error(field.data, self.region)

    def shift_number(self) -> int:
        """The chosen shift's id (0 when it is not a number)."""
        text = (self.shift_id.data or "").strip()
        return int(text) if text.isdigit() and len(text) < 10 else 0


class MessageForm(FlaskForm):
    """A message to every volunteer of the rally; ``key`` is new each time the form is shown."""

    subject = StringField(_l("Subject"), filters=[_collapse], validators=[
        DataRequired(_l("Write a subject.")), Length(max=200, message=_l("Use at most %(n)s characters.", n=200))])
    body = TextAreaField(_l("Message"), validators=[
        DataRequired(_l("Write your message.")), Length(max=5000, message=_l("Use at most %(n)s characters.", n=5000))])
    key = HiddenField(default=lambda: secrets.token_hex(16))


class ConfirmForm(FlaskForm):
    """A button that only needs its CSRF token (cancel a shift, delete a shift)."""
