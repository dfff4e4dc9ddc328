"""Queue one deferred message per RSVP in one statement: INSERT ... SELECT into the outbox.

The Message-ID of each row is computed in SQL from a deterministic key, ``<{key}.{rsvp id}@domain>``,
so the unique constraint on ``outbox_message.message_id`` makes queueing the same key again a no-op:
``WHERE NOT EXISTS`` skips what is already queued (and keeps PostgreSQL's id sequence unburnt), and
``ON CONFLICT (message_id) DO NOTHING`` settles two workers inserting the same row at the same moment
(the second waits for the first to commit, then inserts nothing). Automatic messages therefore go at
most once per key and RSVP, across restarts and workers, on SQLite and PostgreSQL alike.

Every row shares one ``render_params`` value; the sender adds the row's own ``rsvp_id`` to it
(delivery.render_body), and the renderer reads the RSVP as it is then.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from ..database import insert
from ..extensions import db
from ..models import OutboxMessage, Rsvp, utcnow
from ..models.mail import CHANNEL_EMAIL, OUTBOX_PENDING
from ..models.types import UTCDateTime
from .delivery import message_domain

#: Keys are dot-atoms (RFC 5322 msg-id): letters, digits, dots, hyphens.
_KEY = re.compile(r"^[a-z0-9][a-z0-9.-]*$")


def per_rsvp_message_id(key: str):
    """The SQL expression of a row's Message-ID for ``key`` (e.g. "changed.12.3"): ``<changed.12.3.<rsvp>@domain>``."""
    if not _KEY.match(key):
        raise ValueError(f"not a message key: {key!r}")
    return sa.literal(f"<{key}.") + sa.cast(Rsvp.id, sa.String) + sa.literal(f"@{message_domain()}>")


def outbox_columns(*, kind: str, message_id, to_addr, subject: str, render_as: str, params: dict,
                   channel: str = CHANNEL_EMAIL, campaign_message_id: int | None = None) -> dict:
    """{outbox column: SQL expression} for the SELECT of an ``INSERT ... SELECT`` that queues one row per
    RSVP: ``message_id`` and ``to_addr`` are expressions over the selected rows, the rest constants."""
    now = utcnow()
    return {
        "kind": sa.literal(kind[:30]), "message_id": message_id, "to_addr": to_addr,
        "subject": sa.literal(" ".join(subject.split())[:200]), "render_as": sa.literal(render_as),
        "render_params": sa.literal(params, sa.JSON), "rsvp_id": Rsvp.id, "channel": sa.literal(channel),
        "campaign_message_id": sa.literal(campaign_message_id, sa.Integer),
        "status": sa.literal(OUTBOX_PENDING), "attempts": sa.literal(0), "next_attempt_at": sa.literal(now, UTCDateTime),
        "claimed_by": sa.literal(""), "last_error": sa.literal(""), "created_at": sa.literal(now, UTCDateTime),
    }


def queue_per_rsvp(kind: str, key: str, subject: str, render_as: str, params: dict, *where) -> int:
    """Queue, in the caller's transaction, one message to each RSVP matching ``where`` that has an email
    and was not sent this ``key`` before; returns how many rows were added."""
    t = OutboxMessage.__table__
    message_id = per_rsvp_message_id(key)
    columns = outbox_columns(kind=kind, message_id=message_id, to_addr=Rsvp.email, subject=subject,
                             render_as=render_as, params=params)
    rows = (sa.select(*columns.values())
            .where(*where, Rsvp.email.is_not(None), ~sa.exists().where(t.c.message_id == message_id))
            .order_by(Rsvp.id))
    stmt = (insert(t).from_select(list(columns), rows).on_conflict_do_nothing(index_elements=[t.c.message_id])
            .returning(t.c.id))  # counted from RETURNING: an INSERT ... SELECT's rowcount is -1 on psycopg
    return len(db.session.execute(stmt).all())
