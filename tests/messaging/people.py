"""Hand-built supporters and RSVPs for the messaging tests, so each segment's count is known."""

from __future__ import annotations

import uuid

from rallies.database import atomic
from rallies.extensions import db
from rallies.messaging import compose
from rallies.models import Supporter, utcnow
from tests.factories import insert_rsvps

SUPPORTER_FIELDS = {"locale", "email_opt_out_at", "sms_opt_in_at", "sms_stopped_at", "phone", "deleted_at"}


def add_person(rally, name: str = "Ana López", **fields) -> int:
    """A supporter of the rally's campaign and their RSVP; supporter columns and RSVP columns mixed in ``fields``."""
    email = fields.pop("email", f"{uuid.uuid4().hex[:10]}@example.org")
    supporter_values = {k: fields.pop(k) for k in list(fields) if k in SUPPORTER_FIELDS}
    with atomic():
        supporter = Supporter(campaign_id=rally.campaign_id, email=email, name=name, **supporter_values)
        db.session.add(supporter)
        db.session.flush()
        supporter_id = supporter.id
    [rsvp_id] = insert_rsvps(rally, [dict(name=name, email=email, supporter_id=supporter_id, **fields)])
    return rsvp_id


def draft(segment="going", channel="email", **fields) -> compose.Draft:
    fields.setdefault("subject", "Hello")
    fields.setdefault("body", "See you there.")
    fields.setdefault("sms_body", "See you there")
    return compose.Draft(segment=segment, channel=channel, **fields)


def consented(**fields) -> dict:
    """Supporter columns of someone who agreed to SMS."""
    return {"phone": "+13125550100", "sms_opt_in_at": utcnow(), **fields}
