"""A new RSVP's rows: its supporter, the RSVP itself and its ticket email.

``insert_new_rsvp`` runs inside the caller's ``atomic()``, after the caller's counter UPDATE
took the rally's lock (rsvp/rsvps.py), on both engines. The INSERT does nothing when the
mailbox already has an RSVP to the rally (the unique index on (rally_id, email_key) answers,
under the lock); ``None`` then tells the caller, who rolls the transaction back (the supporter
upsert with it).
"""

from __future__ import annotations

from ..database import insert
from ..extensions import db
from ..models import RSVP_UNCONFIRMED, Rsvp
from ..sms.consent import keep_until_confirmed, take_kept_consent
from ..sms.queue import queue_ticket_sms
from . import notices
from .supporters import supporter_for

rsvp_t = Rsvp.__table__
#: The RSVP columns a new RSVP sets (besides supporter_id).
RSVP_COLUMNS = ("rally_id", "token_hash", "token_sealed", "name", "email", "email_key", "phone", "postal_code",
                "door_name", "search_name", "guests", "status", "is_walkin", "checked_in_people", "opt_in", "opt_in_at",
                "utm_source", "utm_medium",
                "utm_campaign", "ref", "status_at", "reminder_answer", "created_at", "updated_at", "changed_seq")


def _rsvp_insert():
    """The RSVP's INSERT, which does nothing when the mailbox already has an RSVP to the rally."""
    return insert(rsvp_t).on_conflict_do_nothing(index_elements=["rally_id", "email_key"]).returning(rsvp_t.c.id)


def insert_new_rsvp(values: dict, *, campaign_id: int, title: str, reason: str, locale: str = "") -> int | None:
    """Upsert the supporter, insert the RSVP pointing at it (``values``: every RSVP_COLUMNS key, and
    ``sms_consent``), queue its ticket email (and text, when the supporter just agreed to texts).
    ``locale`` is the language of the page the RSVP came from: the supporter's language from now on,
    and the ticket email's.

    Returns the new RSVP's id, or None when the mailbox already has an RSVP to this rally (the caller
    rolls back). An unconfirmed RSVP gets its supporter when the mailbox's owner confirms; until then its
    SMS consent is only kept (sms/consent.py keep_until_confirmed).
    """
    supporter_id = None
    if values["status"] != RSVP_UNCONFIRMED:
        supporter_id = supporter_for(campaign_id, values["email"], values["name"], values["phone"],
                                     values["postal_code"], locale, sms=values.get("sms_consent"))
    rsvp_id = db.session.execute(
        _rsvp_insert(), {**{name: values[name] for name in RSVP_COLUMNS}, "supporter_id": supporter_id}).scalar()
    if rsvp_id is None:
        return None
    notices.queue_ticket_email(rsvp_id, values["email"], reason, title, locale=locale)
    sms = values.get("sms_consent")
    if sms is not None and values["status"] == RSVP_UNCONFIRMED:
        # Only the mailbox's owner may make it theirs (link_supporter): a typed address proves nothing.
        keep_until_confirmed(rsvp_id, sms)
    elif supporter_id is not None and sms is not None:
        queue_ticket_sms(rsvp_id, values["phone"], reason)
    return rsvp_id


def link_supporter(rsvp_id: int, campaign_id: int, values: dict) -> None:
    """Upsert the campaign's supporter for this RSVP's email and point the RSVP at it; SMS consent its form
    gave is the supporter's now, and its ticket goes by text too (``values["status"]``: the RSVP's new status)."""
    sms = take_kept_consent(rsvp_id)
    supporter_id = supporter_for(campaign_id, values["email"], values["name"], values["phone"], values["postal_code"],
                                 values.get("locale", ""), sms=sms)
    db.session.execute(rsvp_t.update().where(rsvp_t.c.id == rsvp_id).values(supporter_id=supporter_id))
    if sms is not None:
        queue_ticket_sms(rsvp_id, values["phone"], values["status"])
