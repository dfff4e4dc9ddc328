"""SMS consent: the words a supporter agrees to, their phone as E.164, and what is stored of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import phonenumbers
from flask import current_app
from flask_babel import gettext as _

from ..extensions import db
from ..models import RsvpSmsConsent, utcnow


class InvalidPhone(ValueError):
    """The text is not a phone number we can text."""


class UnreadablePhone(InvalidPhone):
    """The text does not read as a phone number at all."""


def normalise_phone(raw: str, region: str | None = None) -> str:
    """The number in E.164 ("(415) 555-2671" -> "+14155552671"); national formats read in ``region``
    (SMS_DEFAULT_REGION when not given). InvalidPhone when it is not a valid number."""
    region = region or current_app.config.get("SMS_DEFAULT_REGION", "US")
    try:
        number = phonenumbers.parse(raw or "", region)
    except phonenumbers.NumberParseException as exc:
        raise UnreadablePhone(str(exc)) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def consent_text(campaign_name: str) -> str:
    """What the supporter agrees to by ticking the box, in the current language: shown next to the box
    and stored word for word with the consent."""
    return _("By checking this box you agree to receive up to %(n)s texts about this rally from %(campaign)s. "
             "Msg & data rates may apply. Reply STOP to stop, HELP for help.",
             n=current_app.config.get("SMS_MAX_TEXTS_PER_RALLY", 4), campaign=campaign_name)


@dataclass(frozen=True)
class SmsConsent:
    """A supporter's yes to texts, as the RSVP form recorded it (the view fills it; services store it)."""

    #: The consent text exactly as shown, in the supporter's language.
    text: str
    #: The client address as the app sees it (request.remote_addr, after any trusted proxy).
    ip: str
    at: datetime = field(default_factory=utcnow)

    def columns(self) -> dict:
        """The Supporter columns this consent sets (and a STOP it overrides)."""
        return {"sms_opt_in_at": self.at, "sms_consent_text": self.text, "sms_consent_ip": (self.ip or "")[:45]}


def keep_until_confirmed(rsvp_id: int, consent: SmsConsent) -> None:
    """Keep the consent of an unconfirmed RSVP's form, in the caller's transaction; it opts no one in yet."""
    db.session.add(RsvpSmsConsent(rsvp_id=rsvp_id, text=consent.text, ip=(consent.ip or "")[:45], agreed_at=consent.at))


def take_kept_consent(rsvp_id: int) -> SmsConsent | None:
    """The consent kept for this RSVP until its confirmation, removed from keeping; None if its form gave none."""
    kept = db.session.get(RsvpSmsConsent, rsvp_id)
    if kept is None:
        return None
    db.session.delete(kept)
    return SmsConsent(kept.text, kept.ip, kept.agreed_at)
