"""What one supporter gets: a message in their language, with their name, as email or SMS.

The outbox sender calls the renderers (registered here) when it sends each row; the preview page
calls ``render_for`` with the same arguments, so an organizer sees exactly what will go. A supporter
who opted out after the message was queued gets nothing (NothingToSend drops the row).
"""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale

from ..extensions import db
from ..mail.delivery import NothingToSend, Rendered, renderer
from ..models import CampaignMessage, Rsvp
from ..models.mail import CHANNEL_EMAIL, CHANNEL_SMS, MESSAGE_CANCELLED
from ..rsvp.notices import campaign_headers, email_context, email_locale
from .compose import sms_text
from .optout import preferences_url, unsubscribe_headers, unsubscribe_url


def texts(message: CampaignMessage, locale: str) -> dict:
    """Subject, body and SMS text in ``locale`` (each falls back to the original when not translated)."""
    base = {"subject": message.subject, "body": message.body, "sms_body": message.sms_body}
    other = (message.translations or {}).get(locale) or {} if locale != "en" else {}
    return {key: other.get(key) or value for key, value in base.items()}


def paragraphs(body: str) -> list[list[str]]:
    """Plain text as paragraphs of lines (blank lines split paragraphs); the template escapes each line."""
    blocks = [block.strip("\n") for block in body.replace("\r\n", "\n").split("\n\n")]
    return [block.split("\n") for block in blocks if block.strip()]


def _email(message: CampaignMessage, rsvp: Rsvp, words: dict) -> Rendered:
    supporter_id = rsvp.supporter_id
    unsubscribe = unsubscribe_url(supporter_id)
    context = email_context(rsvp, message=message, subject=words["subject"], paragraphs=paragraphs(words["body"]),
                            body=words["body"], unsubscribe=unsubscribe, preferences=preferences_url(supporter_id))
    html = render_template("emails/campaign_message.html", **context)
    text = render_template("emails/campaign_message.txt", **context)
    headers = {**campaign_headers(rsvp), **unsubscribe_headers(supporter_id)}
    return Rendered(html, text, subject=" ".join(words["subject"].split())[:200], headers=headers)


def render_for(message: CampaignMessage, rsvp: Rsvp, channel: str) -> Rendered:
    """The email (HTML and text) or SMS (text only) this supporter gets, in their language."""
    locale = email_locale(rsvp)
    words = texts(message, locale)
    with force_locale(locale):
        if channel == CHANNEL_SMS:
            return Rendered(html="", text=sms_text(words["sms_body"]))
        return _email(message, rsvp, words)


def _load(params: dict) -> tuple[CampaignMessage, Rsvp]:
    message = db.session.get(CampaignMessage, params.get("campaign_message_id"))
    rsvp = db.session.get(Rsvp, params.get("rsvp_id"))
    if message is None or message.status == MESSAGE_CANCELLED:
        raise NothingToSend("the message is gone or cancelled")
    if rsvp is None or rsvp.supporter is None or rsvp.supporter.deleted_at is not None:
        raise NothingToSend("the supporter is gone")
    return message, rsvp


@renderer("campaign_message")
def _render_email(params: dict) -> Rendered:
    """An organizer's message by email; dropped if the supporter unsubscribed since it was queued."""
    message, rsvp = _load(params)
    if not rsvp.email or rsvp.supporter.email_opt_out_at is not None:
        raise NothingToSend("unsubscribed")
    return render_for(message, rsvp, CHANNEL_EMAIL)


@renderer("campaign_sms")
def _render_sms(params: dict) -> Rendered:
    """An organizer's message by SMS (text only); dropped if the supporter stopped SMS since it was queued."""
    message, rsvp = _load(params)
    supporter = rsvp.supporter
    if supporter.sms_opt_in_at is None or supporter.sms_stopped_at is not None or not supporter.phone:
        raise NothingToSend("no SMS consent")
    return render_for(message, rsvp, CHANNEL_SMS)
