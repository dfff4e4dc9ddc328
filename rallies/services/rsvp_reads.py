"""Read-side RSVP queries (ticket lookup, waitlist position, revocation list)."""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..database import read_one
from ..extensions import db
from ..models import RSVP_CANCELLED, RSVP_WAITLISTED, Rally, Rsvp
from .emails import lookalike_key
from .link_secrets import page_token_key

rally_t = Rally.__table__


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


def rsvp_by_token(token: str) -> Rsvp | None:
    """The RSVP behind a ticket URL, or None (malformed tokens never reach the database)."""
    key = page_token_key(token)
    if key is None:
        return None
    # One query for the ticket page: the RSVP with its rally.
    return db.session.scalar(sa.select(Rsvp).options(so.joinedload(Rsvp.rally)).where(Rsvp.token_hash == key))


class RallyColumns:
    """Some of a rally's columns from a Core row, read like a Rally (no ORM identity map);
    subclasses name them in ``__slots__``, in the order the query selects them."""

    __slots__ = ()

    def __init__(self, values):
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)

    is_cancelled = Rally.is_cancelled
    is_public = Rally.is_public


class TicketRally(RallyColumns):
    """The rally columns the ticket page shows, read with the RSVP in one Core query."""

    __slots__ = ("id", "slug", "title", "status", "visibility", "cancel_message", "venue_name",
                 "address", "city", "state", "postal_code", "accessibility_notes", "lat", "lon",
                 "signing_key", "timezone", "starts_at", "doors_open_at", "ends_at")


class TicketRsvp:
    """The RSVP columns the ticket page shows; ``rally`` is its TicketRally."""

    __slots__ = ("id", "rally_id", "token_hash", "name", "guests", "status", "status_at", "rally", "row")

    def __init__(self, values, rally: TicketRally, row: tuple = ()):
        for name, value in zip(self.__slots__[:-2], values, strict=True):
            setattr(self, name, value)
        self.rally = rally
        #: Every column read, RSVP and rally: equal rows show an equal ticket (the page cache's key).
        self.row = row

    party_size = Rsvp.party_size


def ticket_view(token: str) -> TicketRsvp | None:
    """The ticket page's RSVP and rally as plain read-only objects, in one indexed query, or None.

    The page shows a dozen columns of two rows: an ORM load with joinedload (every column of both
    tables, identity map, type processing) cost more than the rest of the page.
    """
    key = page_token_key(token)
    if key is None:
        return None
    row = read_one(_ticket_view_stmt(), {"token_hash": key})
    if row is None:
        return None
    n = len(TicketRsvp.__slots__) - 2
    return TicketRsvp(row[:n], TicketRally(row[n:]), tuple(row))


@lru_cache(maxsize=1)
def _ticket_view_stmt():
    rsvp_t = Rsvp.__table__
    return (sa.select(*(rsvp_t.c[n] for n in TicketRsvp.__slots__[:-2]), *(rally_t.c[n] for n in TicketRally.__slots__))
            .join_from(rsvp_t, rally_t, rally_t.c.id == rsvp_t.c.rally_id)
            .where(rsvp_t.c.token_hash == sa.bindparam("token_hash")))


class RsvpRally(RallyColumns):
    """The rally columns the RSVP form, its page and the RSVP service read, from one Core query by slug."""

    __slots__ = ("id", "slug", "campaign_id", "title", "status", "visibility", "starts_at", "ends_at", "timezone",
                 "venue_name", "address", "city", "capacity", "going_people", "max_guests", "country", "signing_key",
                 "confirm_by_email")


def rally_for_rsvp(slug: str) -> RsvpRally | None:
    """The rally behind /r/<slug>/rsvp, read outside any transaction: on PostgreSQL the new RSVP is then
    one autocommit statement (services/rsvp_insert.py), and the request sends no BEGIN or ROLLBACK."""
    row = read_one(_rally_for_rsvp_stmt(), {"slug": slug})
    return RsvpRally(row) if row is not None else None


@lru_cache(maxsize=1)
def _rally_for_rsvp_stmt():
    return sa.select(*(rally_t.c[n] for n in RsvpRally.__slots__)).where(rally_t.c.slug == sa.bindparam("slug"))


def qr_facts(token: str):
    """(rsvp id, status, rally id, rally signing key) behind a ticket URL, or None: the QR image needs no more.

    One indexed query on the token selecting four columns, no ORM objects (the image itself is cached).
    """
    key = page_token_key(token)
    if key is None:
        return None
    return read_one(_qr_facts_stmt(), {"token_hash": key})


@lru_cache(maxsize=1)
def _qr_facts_stmt():
    rsvp_t = Rsvp.__table__
    return (sa.select(rsvp_t.c.id, rsvp_t.c.status, rally_t.c.id, rally_t.c.signing_key)
            .join_from(rsvp_t, rally_t, rally_t.c.id == rsvp_t.c.rally_id).where(rsvp_t.c.token_hash == sa.bindparam("token_hash")))


def revoked_ids(rally_id: int) -> list[int]:
    """The rally's revocation list: ids of its cancelled tickets (the door downloads it)."""
    return list(db.session.scalars(
        sa.select(Rsvp.id).where(Rsvp.rally_id == rally_id, Rsvp.status == RSVP_CANCELLED).order_by(Rsvp.id)
    ))


def lookalike_clusters(rally_id: int, limit: int = 20) -> list[list]:
    """Groups of the rally's RSVPs whose addresses look made up by one person, biggest first.

    Two addresses group when they are the same mailbox (services.emails.canonical_email) or differ
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
