"""A rally's RSVP list for organizers and viewers: search, status filter, pages and the CSV.

What each role sees is decided once, by ``access.can_see_contacts``: without it the contact
columns are left out and the search matches names only, so the box cannot be used as an
oracle that recovers an email or phone one character at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination

from ..auth.roles import CONTACT_FIELDS
from ..csvsafe import csv_rows
from ..extensions import db
from ..models import Rally, Rsvp
from .names import fold

PER_PAGE = 50
STATUSES = ("going", "waitlisted", "cancelled", "unconfirmed")
CSV_HEADER = ("id", "status", "name", "email", "phone", "postal_code", "guests", "party_size", "checked_in_people",
              "opt_in", "opt_in_at", "utm_source", "utm_medium", "utm_campaign", "ref", "created_at")


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _filtered(rally_id: int, term: str, status: str, contacts: bool):
    query = sa.select(Rsvp).where(Rsvp.rally_id == rally_id)
    if status in STATUSES:
        query = query.where(Rsvp.status == status)
    if term:
        # search_name holds the folded name only (see people.search_text): a prefix of it or of a word in it.
        found = [Rsvp.search_name.like(_like_prefix(term), escape="\\"),
                 Rsvp.search_name.like("% " + _like_prefix(term), escape="\\")]
        if contacts:
            found.append(Rsvp.email.like(_like_prefix(term), escape="\\"))
            digits = "".join(ch for ch in term if ch.isdigit())
            if len(digits) >= 3 and not term.strip("0123456789+-(). "):
                found.append(Rsvp.phone.like("%" + digits + "%"))
        query = query.where(sa.or_(*found))
    return query


def rsvp_page(rally_id: int, q: str = "", status: str = "", page: int = 1, *, contacts: bool) -> Pagination:
    """The page-th page (newest first) of RSVPs matching q and status; names only unless contacts.

    A page past the end is empty (never a 404): the list may have shrunk since the link was made.
    """
    query = _filtered(rally_id, fold(q).strip(), status, contacts).order_by(Rsvp.id.desc())
    return db.paginate(query, page=max(1, page), per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)


def csv_header(*, contacts: bool) -> tuple[str, ...]:
    """The RSVP CSV's columns for a role that does (or does not) see contact details."""
    return CSV_HEADER if contacts else tuple(c for c in CSV_HEADER if c not in CONTACT_FIELDS)


def rsvps_csv(rally: Rally, *, contacts: bool) -> Iterator[str]:
    """CSV lines of all the rally's RSVPs (formula-injection safe), contact columns only if contacts."""
    header = csv_header(contacts=contacts)

    def record(r: Rsvp) -> dict:
        return {
            "id": r.id, "status": r.status, "name": r.name, "email": r.email or "", "phone": r.phone,
            "postal_code": r.postal_code, "guests": r.guests, "party_size": r.party_size,
            "checked_in_people": r.checked_in_people, "opt_in": r.opt_in,
            "opt_in_at": r.opt_in_at.isoformat() if r.opt_in_at else "", "utm_source": r.utm_source,
            "utm_medium": r.utm_medium, "utm_campaign": r.utm_campaign, "ref": r.ref,
            "created_at": r.created_at.isoformat(),
        }

    rows = db.session.scalars(sa.select(Rsvp).where(Rsvp.rally_id == rally.id).order_by(Rsvp.id))
    return csv_rows(header, ([record(r)[k] for k in header] for r in rows))


def ref_counts(rally_id: int, limit: int = 50) -> list[tuple[str, int]]:
    """The rally's share-link refs with how many RSVPs came through each, most first."""
    return [tuple(row) for row in db.session.execute(
        sa.select(Rsvp.ref, sa.func.count()).where(Rsvp.rally_id == rally_id, Rsvp.ref != "")
        .group_by(Rsvp.ref).order_by(sa.func.count().desc()).limit(limit)
    )]
