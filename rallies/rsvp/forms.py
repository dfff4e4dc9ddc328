"""Forms for the supporter side (RSVP, ticket changes) and the organizer's RSVP list."""

from __future__ import annotations

import re

from flask import current_app
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional, ValidationError

from ..i18n import wtforms_catalog
from ..mail.addresses import normalise_email
from ..sms.consent import InvalidPhone, UnreadablePhone, consent_text, normalise_phone

_US_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
#: Control characters (NUL included, which PostgreSQL refuses in text) never belong in these fields.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(text: str | None) -> None:
    """A person's name may be in any script, but hold no control characters (the RSVP and volunteer forms)."""
    if _CONTROL.search(text or ""):
        raise ValidationError(gettext("Use letters, spaces and punctuation only."))


def e164_or_error(text: str, region: str) -> str:
    """A typed phone number as E.164, or the form error that says what is wrong with it."""
    try:
        return normalise_phone(text, region)
    except UnreadablePhone as exc:
        raise ValidationError(
            gettext("Enter a valid phone number, like (312) 555-0123 or +44 20 7946 0958.")) from exc
    except InvalidPhone as exc:
        raise ValidationError(gettext("That phone number doesn't look right. Check the digits and area code.")) from exc


def strip_controls(value: str | None) -> str:
    """The text without control characters (for hidden fields and search boxes)."""
    return _CONTROL.sub("", value or "")
_POSTAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-]{1,9}$")


class _Text(StringField):
    """A StringField that trims surrounding whitespace and collapses inner runs."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data:
            self.data = " ".join(self.data.split())


def _between(top: int) -> str:
    """The message for a guest count out of range (also raised by the RSVP service)."""
    return ngettext("You can bring between 0 and %(num)d guest.", "You can bring between 0 and %(num)d guests.", top)


def _guests_field():
    return IntegerField(
        _l("Guests you're bringing"), default=0,
        validators=[Optional(), NumberRange(min=0, max=10, message=_l("Enter a number of guests."))],
    )


class RsvpForm(FlaskForm):
    """Name, email, optional phone and ZIP, guests, opt-in; a honeypot; attribution in hidden fields."""

    name = _Text(_l("Your name"), validators=[DataRequired(_l("Enter your name.")),
                                              Length(max=120, message=_l("Use at most %(n)s characters.", n=120))])
    # Normalised before validation (mail.addresses is the one place that knows how).
    email = EmailField(_l("Email"), filters=[normalise_email], validators=[
        DataRequired(_l("Enter your email so we can send your ticket.")),
        Length(max=254, message=_l("Use at most %(n)s characters.", n=254)),
        Email(_l("Enter a valid email address, like name@example.com."), check_deliverability=False),
    ])
    phone = TelField(_l("Mobile phone (optional)"),
                     validators=[Optional(), Length(max=32, message=_l("That number is too long."))])
    postal_code = _Text(_l("ZIP / postal code (optional)"),
                        validators=[Optional(), Length(max=20, message=_l("That code is too long."))])
    guests = _guests_field()
    opt_in = BooleanField(_l("Send me updates from this campaign"), default=False)
    #: Unticked unless the supporter ticks it; the consent text is shown beside it (sms_consent_text).
    sms_opt_in = BooleanField(_l("Text me updates about this rally"), default=False)
    #: Honeypot: hidden from people by CSS; bots that fill every field reveal themselves.
    website = StringField(_l("Leave this field empty"), validators=[Optional(), Length(max=200)])
    utm_source = HiddenField()
    utm_medium = HiddenField()
    utm_campaign = HiddenField()
    ref = HiddenField()

    class Meta:
        # CSRFProtect checks every POST before the view runs; a form-level check would sign and
        # verify the same token a second time on the busiest form. The template renders the token.
        csrf = False

        def get_translations(self, form):
            # Flask-WTF reads WTForms' catalog from disk on every request; this form is on the
            # sign-up budget, so it keeps one per language.
            return wtforms_catalog()

    def __init__(self, *args, rally=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.rally = rally
        self.max_guests = rally.max_guests if rally is not None else 10
        self.guests.validators[1] = NumberRange(
            min=0, max=self.max_guests,
            message=_between(self.max_guests),
        )
        self.guests.render_kw = {"min": 0, "max": self.max_guests, "inputmode": "numeric"}
        self.region = (rally.country if rally is not None else "") or current_app.config.get("SMS_DEFAULT_REGION", "US")

    @property
    def sms_consent_text(self) -> str:
        """The words shown beside the SMS box, in the current language; stored as they are when ticked."""
        return consent_text(self.rally.campaign.name if self.rally is not None else "")

    def validate_name(self, field):
        """Names may be any script, but not control characters."""
        check_name(field.data)

    def validate_phone(self, field):
        """Accept national or international format; store E.164."""
        field.data = e164_or_error(field.data, self.region) if field.data else ""

    def validate_sms_opt_in(self, field):
        """Texts need a number to go to."""
        if field.data and not (self.phone.data or "").strip():
            raise ValidationError(gettext("Enter your mobile number so we can text you, or untick this box."))

    def validate_postal_code(self, field):
        """US: 5-digit ZIP (or ZIP+4); elsewhere letters, digits, spaces and dashes."""
        value = (field.data or "").strip().upper()
        field.data = value
        if not value:
            return
        if self.region == "US" and not _US_ZIP.match(value):
            raise ValidationError(gettext("Enter a 5-digit ZIP code, like 60607."))
        if self.region != "US" and not _POSTAL.match(value):
            raise ValidationError(gettext("Enter a valid postal code."))

    @property
    def is_bot(self) -> bool:
        """True when the honeypot was filled in."""
        return bool((self.website.data or "").strip())

    def utm(self) -> dict:
        """The attribution fields, trimmed."""
        return {k: strip_controls(getattr(self, f"utm_{k}").data).strip()[:100] for k in ("source", "medium", "campaign")}


class GuestsForm(FlaskForm):
    """Change the party size from the ticket page."""

    guests = _guests_field()

    def __init__(self, *args, rally=None, **kwargs):
        super().__init__(*args, **kwargs)
        top = rally.max_guests if rally is not None else 10
        self.guests.validators = [
            InputRequired(_l("Enter a number of guests (0 if you're coming alone).")),
            NumberRange(min=0, max=top, message=_between(top)),
        ]
        self.guests.render_kw = {"min": 0, "max": top, "inputmode": "numeric"}


ATTRIBUTION = ("utm_source", "utm_medium", "utm_campaign", "ref")


def blank_rsvp_form(rally, link_args) -> RsvpForm:
    """An unbound RSVP form for a rally's page, carrying the link's attribution (utm_*, ref) in hidden fields."""
    form = RsvpForm(formdata=None, rally=rally)
    for name in ATTRIBUTION:
        getattr(form, name).data = strip_controls(link_args.get(name))[:100]
    return form


class ConfirmForm(FlaskForm):
    """An empty form: a confirmation button with CSRF protection."""


class ShareLinkForm(FlaskForm):
    """An organizer's own share link: a ref code plus optional UTM values."""

    ref = _Text("Your ref code", validators=[DataRequired("Enter a ref code, like your name or group."),
                                              Length(max=100, message="Use at most 100 characters.")])
    utm_source = _Text("utm_source (optional)", validators=[Optional(), Length(max=100)])
    utm_medium = _Text("utm_medium (optional)", validators=[Optional(), Length(max=100)])
    utm_campaign = _Text("utm_campaign (optional)", validators=[Optional(), Length(max=100)])


STATUS_CHOICES = [SelectChoice(v, label) for v, label in (
    ("", "Any status"), ("going", "Going"), ("waitlisted", "Waitlisted"), ("cancelled", "Cancelled"),
    ("unconfirmed", "Not confirmed yet"))]


class RsvpSearchForm(FlaskForm):
    """The organizer list's search box and status filter (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = _Text("Search name, email or phone", validators=[Optional(), Length(max=100)])
    status = SelectField("Status", choices=STATUS_CHOICES, default="", validators=[Optional()])
