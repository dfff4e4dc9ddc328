"""Supporters' own choices: the unsubscribe link (RFC 8058 one-click) and the preferences page.

Both links carry the supporter id signed with SECRET_KEY (itsdangerous), each under its own salt,
so neither can be forged or turned into the other. They do not expire: an unsubscribe link in an
old email must still work.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ..database import atomic
from ..extensions import db
from ..i18n import LANGUAGES
from ..mail.links import external_url
from ..models import Supporter, utcnow

UNSUBSCRIBE_SALT = "rallies.unsubscribe"
PREFERENCES_SALT = "rallies.preferences"


class BadToken(Exception):
    """A link whose signature does not verify, or whose supporter is gone."""


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def unsubscribe_token(supporter_id: int) -> str:
    """The token in a supporter's unsubscribe link."""
    return _serializer(UNSUBSCRIBE_SALT).dumps(supporter_id)


def preferences_token(supporter_id: int) -> str:
    """The token in a supporter's preferences link."""
    return _serializer(PREFERENCES_SALT).dumps(supporter_id)


def unsubscribe_url(supporter_id: int) -> str:
    """The absolute unsubscribe link (also the List-Unsubscribe target)."""
    return external_url("preferences.unsubscribe", token=unsubscribe_token(supporter_id))


def unsubscribe_headers(supporter_id: int) -> dict:
    """List-Unsubscribe with RFC 8058 one-click, on every campaign message (not on tickets or notices)."""
    return {"List-Unsubscribe": f"<{unsubscribe_url(supporter_id)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def preferences_url(supporter_id: int) -> str:
    """The absolute preferences link (email footers, the ticket page)."""
    return external_url("preferences.edit", token=preferences_token(supporter_id))


def _supporter(token: str, salt: str) -> Supporter:
    try:
        supporter_id = _serializer(salt).loads(token)
    except BadSignature:
        raise BadToken("invalid link") from None
    supporter = db.session.get(Supporter, supporter_id) if isinstance(supporter_id, int) else None
    if supporter is None or supporter.deleted_at is not None:
        raise BadToken("no such supporter")
    return supporter


def supporter_for_unsubscribe(token: str) -> Supporter:
    """The supporter an unsubscribe token names, or BadToken."""
    return _supporter(token, UNSUBSCRIBE_SALT)


def supporter_for_preferences(token: str) -> Supporter:
    """The supporter a preferences token names, or BadToken."""
    return _supporter(token, PREFERENCES_SALT)


def unsubscribe(token: str) -> Supporter:
    """Stop campaign email for the token's supporter at once (idempotent: the first opt-out time stays)."""
    with atomic():
        supporter = supporter_for_unsubscribe(token)
        if supporter.email_opt_out_at is None:
            supporter.email_opt_out_at = utcnow()
    return supporter


def save_preferences(token: str, *, locale: str, campaign_email: bool, sms: bool) -> Supporter:
    """Language, campaign email and SMS on or off. SMS on clears a stop only for someone who consented before."""
    with atomic():
        supporter = supporter_for_preferences(token)
        supporter.locale = locale if locale in LANGUAGES else ""
        now = utcnow()
        if campaign_email:
            supporter.email_opt_out_at = None
        elif supporter.email_opt_out_at is None:
            supporter.email_opt_out_at = now
        if not sms:
            supporter.sms_stopped_at = supporter.sms_stopped_at or now
        elif supporter.sms_opt_in_at is not None:
            supporter.sms_stopped_at = None
    return supporter
