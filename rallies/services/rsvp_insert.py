"""A new RSVP's rows: its supporter, the RSVP itself and its ticket email, written once its places are taken.

PostgreSQL gets all three in one statement (data-modifying CTEs): every statement is a round
trip to the server, and this runs for every RSVP. SQLite is in-process, so its three plain
statements cost no round trips. Either way the RSVP INSERT does nothing when this email
already has an RSVP to the rally (the unique index answers, under the rally lock the caller
holds), and ``None`` tells the caller to take the update path instead.
"""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import OutboxMessage, Rsvp, Supporter
from ..models.mail import OUTBOX_PENDING
from . import mail
from .notices import SUBJECTS
from .supporters import supporter_for

rsvp_t = Rsvp.__table__
sup_t = Supporter.__table__
out_t = OutboxMessage.__table__
#: The RSVP columns a new RSVP sets (besides supporter_id and changed_seq, which SQL computes).
RSVP_COLUMNS = ("rally_id", "token", "name", "email", "phone", "postal_code", "door_name", "search_name", "guests",
                "status", "is_walkin", "checked_in_people", "opt_in", "opt_in_at", "utm_source", "utm_medium",
                "utm_campaign", "ref", "status_at", "reminder_answer", "created_at", "updated_at")


def insert_new_rsvp(values: dict, *, campaign_id: int, title: str, reason: str) -> int | None:
    """Insert the RSVP (``values``: every RSVP_COLUMNS key), its supporter and its ticket email.

    Returns the new RSVP's id, or None when the email already has an RSVP to this rally (nothing
    is written then, apart from refreshing the supporter's details on PostgreSQL, which the
    caller's update path does anyway).
    """
    dialect = db.session.get_bind().dialect.name
    kind = "confirmation"
    subject = " ".join(SUBJECTS[reason].format(title=title).split())[:200]
    if dialect == "postgresql" and values["email"]:
        params = {**values, "campaign_id": campaign_id, "s_name": values["name"][:120],
                  "s_phone": values["phone"][:32], "s_postal": values["postal_code"][:20],
                  "kind": kind, "message_id": mail.new_message_id(kind), "subject": subject, "reason": reason,
                  "now": values["created_at"]}
        rsvp_id = db.session.execute(_pg_statement(), params).scalar()
    else:
        supporter_id = supporter_for(campaign_id, values["email"], values["name"], values["phone"],
                                     values["postal_code"])
        rsvp_id = db.session.execute(_rsvp_insert(dialect), {**values, "supporter_id": supporter_id}).scalar()
        if rsvp_id is not None:
            mail.queue_rendered(kind, values["email"], subject, "ticket", {"rsvp_id": rsvp_id, "reason": reason},
                                rsvp_id=rsvp_id)
    if rsvp_id is not None:
        mail.note_queued()
    return rsvp_id


def _next_seq():
    """changed_seq for the RSVP: the rally's last + 1, read after the caller's counter UPDATE took the
    rally's row lock (see services/rsvps.py), in a later statement, so it sees every earlier commit."""
    return (sa.select(sa.func.coalesce(sa.func.max(rsvp_t.c.changed_seq), 0) + 1)
            .where(rsvp_t.c.rally_id == sa.bindparam("rally_id")).scalar_subquery())


def _rsvp_values() -> dict:
    return {name: sa.bindparam(name, type_=rsvp_t.c[name].type) for name in RSVP_COLUMNS}


@lru_cache(maxsize=4)
def _rsvp_insert(dialect: str):
    """INSERT .. ON CONFLICT (rally_id, email) DO NOTHING RETURNING id. Built once per dialect."""
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(rsvp_t)
    return (insert.values(**_rsvp_values(), supporter_id=sa.bindparam("supporter_id"), changed_seq=_next_seq())
            .on_conflict_do_nothing(index_elements=["rally_id", "email"]).returning(rsvp_t.c.id))


@lru_cache(maxsize=1)
def _pg_statement():
    """WITH sup AS (upsert supporter), ins AS (insert RSVP) INSERT INTO outbox_message .. SELECT .. FROM ins
    RETURNING rsvp_id. Built once."""
    now = sa.bindparam("now", type_=rsvp_t.c.created_at.type)
    upsert = postgresql.insert(sup_t).values(
        campaign_id=sa.bindparam("campaign_id"), email=sa.bindparam("email"), name=sa.bindparam("s_name"),
        phone=sa.bindparam("s_phone"), postal_code=sa.bindparam("s_postal"), created_at=now)

    def keep(col):  # blank values never erase known ones (as supporters.supporter_for)
        return sa.case((upsert.excluded[col] != "", upsert.excluded[col]), else_=sup_t.c[col])

    sup = upsert.on_conflict_do_update(
        index_elements=["campaign_id", "email"], set_={c: keep(c) for c in ("name", "phone", "postal_code")},
    ).returning(sup_t.c.id).cte("sup")
    ins = (postgresql.insert(rsvp_t)
           .values(**_rsvp_values(), supporter_id=sa.select(sup.c.id).scalar_subquery(), changed_seq=_next_seq())
           .on_conflict_do_nothing(index_elements=["rally_id", "email"])
           .returning(rsvp_t.c.id).cte("ins"))
    columns = ("kind", "message_id", "to_addr", "subject", "body", "render_as", "render_params", "rsvp_id", "status",
               "attempts", "next_attempt_at", "claimed_at", "claimed_by", "sent_at", "last_error", "created_at")
    row = sa.select(
        sa.bindparam("kind"), sa.bindparam("message_id"), sa.bindparam("email"), sa.bindparam("subject"),
        sa.null(), sa.literal("ticket"),
        sa.func.json_build_object("rsvp_id", ins.c.id, "reason", sa.bindparam("reason", type_=sa.String)),
        ins.c.id, sa.literal(OUTBOX_PENDING), sa.literal(0), now, sa.null(), sa.literal(""), sa.null(),
        sa.literal(""), now,
    ).select_from(ins)
    return postgresql.insert(out_t).from_select(columns, row).returning(out_t.c.rsvp_id)
