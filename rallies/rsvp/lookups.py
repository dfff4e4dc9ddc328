"""Read-side RSVP queries (ticket lookup, waitlist position, revocation list)."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..keys.link_secrets import page_token_key
from ..mail.addresses import lookalike_key
from ..models import RSVP_CANCELLED, RSVP_WAITLISTED, Rally, Rsvp, TicketImage

rally_t, rsvp_t, image_t = Rally.__table__, Rsvp.__table__, TicketImage.__table__


def waitlist_position(rsvp: Rsvp) -> int | None:
    """1-based place in the waitlist, or None if not waitlisted."""
    if rsvp.status != RSVP_WAITLISTED:
        return None
    ahead = db.session.scalar(
        sa.select(sa.func.count()).select_from(Rsvp).where(
            Rsvp.rally_id == rsvp.rally_id, Rsvp.status == RSVP_WAITLISTED,
            sa.or_(Rsvp.status_at < rsvp.status_at, sa.and_(Rsvp.status_at == rsvp.status_at, Rsvp.id < rsvp.id)),
        )
    )
    return int(ahead or 0) + 1


#: The ticket page's and the QR image's one query each, built once: the RSVP by token hash with its
#: rally, and for the image its stored drawing too.
_BY_TOKEN = sa.select(Rsvp).options(so.joinedload(Rsvp.rally)).where(Rsvp.token_hash == sa.bindparam("key"))
#: With its campaign: the RSVP form names it in the SMS consent.
_RALLY_BY_SLUG = sa.select(Rally).options(so.joinedload(Rally.campaign)).where(Rally.slug == sa.bindparam("slug"))
#: The QR image's one query: only what opening its stored drawing, or drawing it, needs (not two whole rows).
_IMAGE_BY_TOKEN = (
    sa.select(rsvp_t.c.id, rsvp_t.c.status, rsvp_t.c.rally_id, rally_t.c.signing_key, image_t.c.png_sealed)
    .select_from(rsvp_t.join(rally_t, rally_t.c.id == rsvp_t.c.rally_id)
                 .outerjoin(image_t, image_t.c.rsvp_id == rsvp_t.c.id))
    .where(rsvp_t.c.token_hash == sa.bindparam("key")))


def rsvp_by_token(token: str) -> Rsvp | None:
    """The RSVP behind a ticket URL, with its rally, or None (malformed tokens never reach the database)."""
    key = page_token_key(token)
    if key is None:
        return None
    return db.session.scalar(_BY_TOKEN, {"key": key})


def ticket_image_facts(token: str):
    """For a ticket's QR image URL: the RSVP's ``id``, ``status`` and ``rally_id``, its rally's sealed
    ``signing_key`` and its stored drawing's ``png_sealed`` (None when not drawn yet); None for no ticket."""
    key = page_token_key(token)
    if key is None:
        return None
    return db.session.execute(_IMAGE_BY_TOKEN, {"key": key}).one_or_none()


def rally_for_rsvp(slug: str) -> Rally | None:
    """The rally behind /r/<slug>/rsvp, or None."""
    return db.session.scalar(_RALLY_BY_SLUG, {"slug": slug})


def revoked_ids(rally_id: int) -> list[int]:
    """The rally's revocation list: ids of its cancelled tickets (the door downloads it)."""
    return list(db.session.scalars(
        sa.select(Rsvp.id).where(Rsvp.rally_id == rally_id, Rsvp.status == RSVP_CANCELLED).order_by(Rsvp.id)
    ))


def lookalike_clusters(rally_id: int, limit: int = 20) -> list[list]:
    """Groups of the rally's RSVPs whose addresses look made up by one person, biggest first.

    Two addresses group when they are the same mailbox (mail.addresses.canonical_email) or differ
    only in digits, dots and +tags on the same domain: how organizers spot one inbox farming places.
    Each group is a list of rows (id, name, email, status), oldest first.
    """
    groups: dict[str, list] = {}
    rows = db.session.execute(sa.select(Rsvp.id, Rsvp.name, Rsvp.email, Rsvp.status)
                              .where(Rsvp.rally_id == rally_id, Rsvp.email.is_not(None)).order_by(Rsvp.id))
    for row in rows:
        groups.setdefault(lookalike_key(row.email), []).append(row)
    found = [group for group in groups.values() if len(group) > 1]
    found.sort(key=lambda group: (-len(group), group[0].id))
    return found[:limit]
