"""The ticket a scan names: a code checked against this rally's key, or a ticket picked by name search.

Refusals found on the way (unknown or forged code, another rally's ticket, a deleted ticket) are
logged as the scan's verdict.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import Checkin, Door, Rally, Rsvp
from ..models.door import DIRECTION_ENTRY
from ..rsvp.tickets import InvalidCode, ParsedCode, parse_code, verify_code
from .doors import DoorContext
from .scan_input import log_code
from .scan_record import refuse
from .verdicts import INVALID, REVOKED, WRONG_RALLY, Verdict

rsvp_t, rally_t, door_t, checkin_t = Rsvp.__table__, Rally.__table__, Door.__table__, Checkin.__table__

# The statements every scan runs, built once; values are bound parameters.
_TICKET = (sa.select(rsvp_t.c.id, rsvp_t.c.rally_id, rsvp_t.c.status, rsvp_t.c.guests, rsvp_t.c.checked_in_people,
                     rsvp_t.c.door_name, rally_t.c.public_key, rally_t.c.title, rally_t.c.starts_at,
                     rsvp_t.c.outside_people, rsvp_t.c.overflow_people, rally_t.c.reentry_allowed)
           .join_from(rsvp_t, rally_t, rally_t.c.id == rsvp_t.c.rally_id).where(rsvp_t.c.id == sa.bindparam("ticket")))
_PREVIOUS = (sa.select(checkin_t.c.admitted_at, checkin_t.c.device_name, door_t.c.name)
             .outerjoin(door_t, door_t.c.id == checkin_t.c.door_id)
             .where(checkin_t.c.rsvp_id == sa.bindparam("ticket"), checkin_t.c.undone_at.is_(None),
                    checkin_t.c.direction == DIRECTION_ENTRY)
             .order_by(checkin_t.c.id.desc()).limit(1))


def ticket_row(rsvp_id: int):
    """What the decision needs about one ticket and its rally (a Row), or None."""
    return db.session.execute(_TICKET, {"ticket": rsvp_id}).one_or_none()


def resolve_ticket(code, ctx: DoorContext, scan: dict, flags: dict, ticket_id=None, parsed: ParsedCode | None = None):
    """The ticket row a scan names (a code, or ticket_id from a name search), or the logged refusal Verdict."""
    if ticket_id is not None and code is None:
        row = _picked_ticket(ctx, ticket_id)
        scan["code"] = f"ticket:{row.id}" if row else log_code(str(ticket_id))
        if row is None:
            return refuse(scan, Verdict(INVALID, "unknown_ticket", flags=flags))
        return row
    if parsed is None:
        try:
            parsed = parse_code(code)
        except InvalidCode as exc:
            return refuse(scan, Verdict(INVALID, invalid_reason(str(exc)), flags=flags))
    return _scanned_ticket(scan, ctx, parsed, flags)


def _picked_ticket(ctx: DoorContext, ticket_id):
    """The ticket chosen from a name search, if it is one of this rally's."""
    if isinstance(ticket_id, bool) or not isinstance(ticket_id, int) or not 0 < ticket_id < 2**31:
        return None
    row = ticket_row(ticket_id)
    return row if row is not None and row.rally_id == ctx.rally_id else None


def _scanned_ticket(scan: dict, ctx: DoorContext, parsed: ParsedCode, flags: dict):
    """The ticket a parsed code names, or the logged refusal Verdict when the code is not good here."""
    row = ticket_row(parsed.ticket_id)
    if row is None:
        key = db.session.scalar(sa.select(rally_t.c.public_key).where(rally_t.c.id == ctx.rally_id))
        if verify_code(key, ctx.rally_id, parsed):
            return refuse(scan, Verdict(REVOKED, "ticket_deleted", ticket={"id": parsed.ticket_id}, flags=flags))
        return refuse(scan, Verdict(INVALID, "unknown_ticket", flags=flags))
    if row.rally_id != ctx.rally_id:
        if verify_code(row.public_key, row.rally_id, parsed):
            rally = {"id": row.rally_id, "title": row.title, "starts_at": row.starts_at.isoformat()}
            return refuse(scan, Verdict(WRONG_RALLY, "wrong_rally", rally=rally, flags=flags))
        return refuse(scan, Verdict(INVALID, "bad_signature", flags=flags))
    if not verify_code(row.public_key, ctx.rally_id, parsed):
        return refuse(scan, Verdict(INVALID, "bad_signature", flags=flags))
    return row


def invalid_reason(text: str) -> str:
    """The reason code for a code that does not parse (InvalidCode's text)."""
    return {"empty": "empty_code", "too long": "code_too_long", "not text": "not_text",
            "unknown code version": "unknown_version"}.get(text, "malformed_code")


def ticket_summary(row, checked_in: int | None = None) -> dict:
    """The ticket as a verdict shows it (party, checked in, remaining)."""
    party = row.guests + 1
    done = row.checked_in_people if checked_in is None else checked_in
    return {"id": row.id, "name": row.door_name, "party": party, "checked_in": done,
            "remaining": max(0, party - done), "status": row.status}


def previous_admission(rsvp_id: int) -> dict | None:
    """When, where and by which device this ticket was last admitted."""
    row = db.session.execute(_PREVIOUS, {"ticket": rsvp_id}).one_or_none()
    if row is None:
        return None
    return {"at": row.admitted_at.isoformat(), "door": row.name or "", "device": row.device_name}
