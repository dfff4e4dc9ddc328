"""Supporters across rallies: one person per (campaign, email); export and deletion of their data."""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import OutboxMessage, Rally, Rsvp, Supporter, utcnow
from .emails import normalise_email
from .link_secrets import new_page_token

rally_t = Rally.__table__
rsvp_t = Rsvp.__table__


def supporter_for(campaign_id: int, email: str, name: str = "", phone: str = "", postal_code: str = "") -> int | None:
    """The id of the campaign's supporter for this email, created or refreshed in the current transaction.

    One upsert statement (INSERT .. ON CONFLICT DO UPDATE .. RETURNING id), so two RSVPs from one
    person to two rallies at once both succeed. The latest RSVP's details win (a person may fix a
    typo in their name or add a phone); blank values never erase known ones.
    """
    email = normalise_email(email)
    if not email:
        return None
    stmt = _upsert_statement(db.session.get_bind().dialect.name)
    return db.session.execute(stmt, {
        "campaign_id": campaign_id, "email": email, "name": name[:120], "phone": phone[:32],
        "postal_code": postal_code[:20], "created_at": utcnow(),
    }).scalar_one()


@lru_cache(maxsize=4)
def _upsert_statement(dialect: str):
    """Built once per dialect (building and cache-keying it costs more than running it)."""
    t = Supporter.__table__
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(t)

    def keep(col):
        return sa.case((insert.excluded[col] != "", insert.excluded[col]), else_=t.c[col])

    return insert.on_conflict_do_update(
        index_elements=["campaign_id", "email"],
        set_={"name": keep("name"), "phone": keep("phone"), "postal_code": keep("postal_code")},
    ).returning(t.c.id)


def find_supporters(campaign_id: int, query: str = "", limit: int = 50, offset: int = 0) -> list[Supporter]:
    """The campaign's (not deleted) supporters, optionally by email or name prefix."""
    q = sa.select(Supporter).where(Supporter.campaign_id == campaign_id, Supporter.email.is_not(None))
    query = query.strip().lower()
    if query:
        pattern = _like_prefix(query)
        q = q.where(sa.or_(Supporter.email.like(pattern, escape="\\"),
                           sa.func.lower(Supporter.name).like(pattern, escape="\\")))
    return list(db.session.scalars(q.order_by(Supporter.email).limit(limit).offset(offset)))


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def export_person(supporter: Supporter) -> dict:
    """Everything the campaign holds about one person, as JSON-ready data."""
    rsvps = db.session.scalars(
        sa.select(Rsvp).join(Rally).where(Rsvp.supporter_id == supporter.id).order_by(Rsvp.created_at)
    ).all()
    mail = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.rsvp_id.in_([r.id for r in rsvps])).order_by(OutboxMessage.id)
    ).all()
    iso = lambda d: d.isoformat() if d else None  # noqa: E731
    return {
        "supporter": {
            "email": supporter.email, "name": supporter.name, "phone": supporter.phone,
            "postal_code": supporter.postal_code, "created_at": iso(supporter.created_at),
        },
        "rsvps": [
            {
                "rally": r.rally.title, "rally_starts_at": iso(r.rally.starts_at), "status": r.status,
                "name": r.name, "email": r.email, "phone": r.phone, "postal_code": r.postal_code,
                "guests": r.guests, "checked_in_people": r.checked_in_people,
                "opt_in": r.opt_in, "opt_in_at": iso(r.opt_in_at),
                "utm_source": r.utm_source, "utm_medium": r.utm_medium, "utm_campaign": r.utm_campaign,
                "ref": r.ref, "created_at": iso(r.created_at), "reminder_answer": r.reminder_answer,
            }
            for r in rsvps
        ],
        "emails": [
            {"kind": m.kind, "subject": m.subject, "status": m.status, "created_at": iso(m.created_at),
             "sent_at": iso(m.sent_at)}
            for m in mail
        ],
    }


def delete_person(supporter: Supporter) -> int:
    """Erase a person's personal data everywhere (call inside atomic()); counts stay true. Returns RSVPs scrubbed.

    RSVP rows stay (status, party size and check-ins feed turnout history) but lose
    name, email, phone, postal code and search text; the ticket token is replaced so
    the old ticket URL stops working; queued or sent email to them is deleted.
    """
    from .rsvps import next_changed_seq

    email = supporter.email or "\x00"
    rsvps = db.session.scalars(
        sa.select(Rsvp).where(sa.or_(Rsvp.supporter_id == supporter.id, Rsvp.email == email))
        .join(Rally).where(Rally.campaign_id == supporter.campaign_id)
    ).all()
    for rally_id in sorted({r.rally_id for r in rsvps}):
        # Row lock first (see services.rsvps): door sync numbers must stay ordered.
        db.session.execute(rally_t.update().where(rally_t.c.id == rally_id).values(going_people=rally_t.c.going_people))
        seq = next_changed_seq(rally_id)
        for r in rsvps:
            if r.rally_id != rally_id:
                continue
            r.name, r.email, r.phone, r.postal_code = "", None, "", ""
            r.door_name, r.search_name = "Deleted", ""
            r.utm_source = r.utm_medium = r.utm_campaign = r.ref = ""
            r.opt_in, r.opt_in_at = False, None
            fresh = new_page_token()
            r.token_hash, r.token_sealed = fresh.token_hash, fresh.token_sealed
            r.changed_seq = seq
            seq += 1
        db.session.flush()
    # Only mail tied to this campaign's RSVPs: the same address may also be an organizer elsewhere.
    ids = [r.id for r in rsvps]
    if ids:
        db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.rsvp_id.in_(ids)))
    supporter.email = None
    supporter.name = supporter.phone = supporter.postal_code = ""
    supporter.deleted_at = utcnow()
    return len(rsvps)
