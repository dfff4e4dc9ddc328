"""Queueing texts: outbox rows on the SMS channel, written in the caller's transaction.

Only supporters who said yes (``sms_opt_in_at``) and have not replied STOP (``sms_stopped_at``)
get texts; the sender checks STOP again just before each message goes. Rows are rendered by the
``sms`` renderer (sms/texts.py) when sent, in the supporter's language.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..mail.delivery import queue_rendered
from ..models import RSVP_GOING, RSVP_WAITLISTED, Rsvp, Supporter
from ..models.mail import CHANNEL_SMS

#: The texts there are (sms/texts.py words each one).
TEMPLATES = ("ticket", "reminder", "dayof", "rally_changed", "rally_cancelled")


def textable(supporter: Supporter | None) -> bool:
    """True when the supporter agreed to texts, has a number and has not replied STOP."""
    return bool(supporter is not None and supporter.phone and supporter.sms_opt_in_at is not None
                and supporter.sms_stopped_at is None)


def _queue(template: str, phone: str, rsvp_id: int, params: dict | None, message_key: str | None) -> str:
    return queue_rendered(f"sms_{template}", phone, "", "sms", {"template": template, **(params or {})},
                          rsvp_id=rsvp_id, channel=CHANNEL_SMS,
                          message_key=f"sms:{message_key}" if message_key else None)


def queue_ticket_sms(rsvp_id: int, phone: str, reason: str) -> str:
    """The ticket link by text, for an RSVP whose supporter ticked the box just now (plain values: the hot path)."""
    return _queue("ticket", phone, rsvp_id, {"reason": reason}, None)


def queue_sms(rsvp: Rsvp, template: str, params: dict | None = None, *, message_key: str | None = None) -> bool:
    """Queue one text to the RSVP's supporter if they may be texted; True if queued."""
    supporter = rsvp.supporter
    if not textable(supporter):
        return False
    _queue(template, supporter.phone, rsvp.id, params, message_key)
    return True


def queue_rally_sms(rally_id: int, template: str, params: dict | None = None, *, key_prefix: str | None = None,
                    statuses: tuple[str, ...] = (RSVP_GOING, RSVP_WAITLISTED)) -> int:
    """Queue a text to every party of a rally in ``statuses`` (going or waitlisted) whose supporter may be
    texted; returns how many. With ``key_prefix`` each goes once per RSVP, however often this runs."""
    rows = db.session.execute(
        sa.select(Rsvp.id, Supporter.phone).join(Supporter, Supporter.id == Rsvp.supporter_id)
        .where(Rsvp.rally_id == rally_id, Rsvp.status.in_(statuses),
               Supporter.sms_opt_in_at.is_not(None), Supporter.sms_stopped_at.is_(None), Supporter.phone != "")
        .order_by(Rsvp.id)).all()
    for rsvp_id, phone in rows:
        _queue(template, phone, rsvp_id, params, f"{key_prefix}:{rsvp_id}" if key_prefix else None)
    return len(rows)
