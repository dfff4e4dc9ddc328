"""Forms of the messaging pages: compose, send/cancel buttons, the preview search and supporter preferences."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import Length, Optional, ValidationError

from ..i18n import LANGUAGES
from ..models import utcnow
from ..models.mail import SEGMENTS
from .compose import Draft, ScheduleError, local_to_utc


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


SEGMENT_LABELS = {
    "going": _l("Going"), "waitlisted": _l("Waitlisted"), "cancelled": _l("Cancelled their RSVP"),
    "checked_in": _l("Checked in"), "no_show": _l("No-shows (after the rally)"), "walkin": _l("Walk-ins"),
    "opted_in": _l("Opted in to campaign updates"),
}
CHANNEL_LABELS = {"email": _l("Email"), "sms": _l("SMS"), "both": _l("Email and SMS")}
WHEN_LABELS = {"draft": _l("Save as a draft (preview, then send)"), "now": _l("Send now"),
               "later": _l("Schedule")}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ComposeForm(FlaskForm):
    """A message: who, how, the words (and their Spanish version), and when; ``zone`` is the rally's time zone."""

    segment = SelectField(_l("Send to"), choices=_choices({s: SEGMENT_LABELS[s] for s in SEGMENTS}), default="going")
    channel = SelectField(_l("By"), choices=_choices(CHANNEL_LABELS), default="email")
    subject = StringField(_l("Subject"), filters=[_strip], validators=[Length(max=200)])
    body = TextAreaField(_l("Message"), validators=[Length(max=20000)],
                         description=_l("Plain text; a blank line starts a new paragraph."))
    sms_body = TextAreaField(_l("SMS text"), validators=[Length(max=1000)],
                             description=_l("“Reply STOP to opt out” is added at the end."))
    es_subject = StringField(_l("Subject in Spanish (optional)"), filters=[_strip], validators=[Length(max=200)])
    es_body = TextAreaField(_l("Message in Spanish (optional)"), validators=[Length(max=20000)])
    es_sms_body = TextAreaField(_l("SMS text in Spanish (optional)"), validators=[Length(max=1000)])
    when = RadioField(_l("When"), choices=_choices(WHEN_LABELS), default="draft")
    send_date = DateField(_l("Date"), validators=[Optional()])
    send_time = TimeField(_l("Time"), validators=[Optional()])

    def __init__(self, *args, zone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.send_time.description = _l("In the rally's time zone (%(zone)s).", zone=zone)
        self.send_at = None

    def validate_subject(self, field):
        if self.channel.data in ("email", "both") and not field.data:
            raise ValidationError(_l("Write a subject for the email."))

    def validate_body(self, field):
        if self.channel.data in ("email", "both") and not (field.data or "").strip():
            raise ValidationError(_l("Write the email's message."))

    def validate_sms_body(self, field):
        if self.channel.data in ("sms", "both") and not (field.data or "").strip():
            raise ValidationError(_l("Write the SMS text."))

    def validate_send_time(self, field):
        if self.when.data != "later":
            return
        if self.send_date.data is None or field.data is None:
            raise ValidationError(_l("Choose the date and time to send it."))
        try:
            self.send_at = local_to_utc(self.send_date.data, field.data, self.zone)
        except ScheduleError as exc:
            raise ValidationError(str(exc)) from None
        if self.send_at <= utcnow():
            raise ValidationError(_l("That time has passed; choose a time in the future."))

    def draft(self) -> Draft:
        """The message as the form describes it."""
        es = {"subject": self.es_subject.data or "", "body": self.es_body.data or "",
              "sms_body": self.es_sms_body.data or ""}
        return Draft(segment=self.segment.data, channel=self.channel.data, subject=self.subject.data or "",
                     body=self.body.data or "", sms_body=self.sms_body.data or "", translations={"es": es},
                     send_at=self.send_at if self.when.data == "later" else None)


class ConfirmForm(FlaskForm):
    """A button (send now, cancel): CSRF only."""


class PreferencesForm(FlaskForm):
    """A supporter's own choices: language, campaign email, SMS."""

    locale = SelectField(_l("Language"), choices=_choices(LANGUAGES))
    campaign_email = BooleanField(_l("Email me campaign messages"))
    sms = BooleanField(_l("Text me (SMS)"))

