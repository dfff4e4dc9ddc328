"""Replies supporters text back: STOP, START and HELP (the carriers' required keywords).

STOP takes effect at once for every supporter with that number, and cancels their texts still
waiting in the outbox; START turns texts back on only for supporters who had agreed to them
(sms/optout.py). Anything else gets no answer.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import sqlalchemy as sa

from ..extensions import db
from ..models import Campaign, Supporter
from . import texts
from .consent import InvalidPhone, normalise_phone
from .optout import start, stop

log = logging.getLogger(__name__)

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})


class Inbound(NamedTuple):
    """What a text in means: ``keyword`` (stop, start, help or "") and the reply to send, if any."""

    keyword: str
    reply: str | None
    supporters: int


def keyword_of(body: str) -> str:
    """stop, start, help or "" for the text's body (trimmed, any case)."""
    word = (body or "").strip().upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return ""


def _latest_supporter(phone: str) -> Supporter | None:
    return db.session.scalar(sa.select(Supporter).where(Supporter.phone == phone)
                             .order_by(Supporter.sms_opt_in_at.desc().nulls_last(), Supporter.id.desc()).limit(1))


def handle_inbound(from_number: str, body: str, message_sid: str = "", opt_out_type: str = "") -> Inbound:
    """Act on a text a supporter sent us; returns what it meant and the reply (in their language).

    ``opt_out_type`` is Twilio's OptOutType (STOP, START or HELP), sent when the text matched a keyword of
    the account's Advanced Opt-Out settings, including keywords of other languages: it wins over the body.
    """
    keyword = keyword_of(opt_out_type) or keyword_of(body)
    try:
        phone = normalise_phone(from_number)
    except InvalidPhone:
        phone = (from_number or "").strip()
    affected = 0
    if keyword == "stop":
        affected = stop(phone)
    elif keyword == "start":
        affected = start(phone)
    supporter = _latest_supporter(phone) if keyword else None
    locale = (supporter.locale if supporter is not None else "") or "en"
    reply = None
    if keyword == "stop":
        reply = texts.stopped_text(locale)
    elif keyword == "start" and affected:
        reply = texts.started_text(locale)
    elif keyword == "help":
        campaign = db.session.get(Campaign, supporter.campaign_id) if supporter is not None else None
        reply = texts.help_text(locale, campaign)
    # The number is personal data: the log names the provider's message id, never the number or the words.
    log.info("SMS inbound %s: keyword=%s supporters=%s", message_sid or "-", keyword or "none", affected)
    db.session.rollback()
    return Inbound(keyword, reply, affected)
