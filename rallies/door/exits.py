"""Exit scans: a person leaving, recorded as a check-in of direction "exit" (pretix's exit scan).

An exit goes through the same parsing, signature checks, scan log and nonce rules as an entry
(door/checkin.py), so an offline exit uploads exactly once. It is never refused: a ticket with
no one inside (an exit without a known entry, e.g. the entry is still on an offline device) is
logged and flagged, and counts no one, so "inside now" is never pushed below the people the
server knows came in (counting too many inside is the safe error for a fire-code limit).

People leaving the ticket's overflow area are taken first, so the venue's own count errs high.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..database import atomic
from ..extensions import db
from ..models import Checkin, Rsvp
from ..models.door import DIRECTION_EXIT
from ..rallies import counters
from .doors import DoorContext
from .scan_input import check_people, new_scan
from .scan_record import Replay, insert_scan, stored_verdict
from .ticket_reads import resolve_ticket, ticket_summary
from .verdicts import EXIT, Verdict

rsvp_t, checkin_t = Rsvp.__table__, Checkin.__table__

_LOCK_TICKET = (sa.select(rsvp_t.c.checked_in_people, rsvp_t.c.outside_people, rsvp_t.c.overflow_people)
                .where(rsvp_t.c.id == sa.bindparam("ticket")).with_for_update())


def check_out(code, ctx: DoorContext, *, nonce: str, client_time: datetime | None = None, people: int | None = None,
              offline: bool = False, received_at: datetime | None = None, ticket_id=None,
              online: bool | None = None) -> Verdict:
    """Record one exit scan at a door: people of the ticket leave (all of those inside unless ``people``)."""
    people = check_people(people)
    scan, flags, left_at = new_scan(code, ctx, nonce=nonce, client_time=client_time, force=False, offline=offline,
                                    received_at=received_at, online=online)
    row = resolve_ticket(code, ctx, scan, flags, ticket_id)
    if isinstance(row, Verdict):
        return row
    scan["rsvp_id"] = row.id
    try:
        with atomic():
            return _leave(scan, row, people, left_at, flags)
    except Replay:
        return stored_verdict(scan)


def _leave(scan: dict, row, people: int | None, left_at: datetime, flags: dict) -> Verdict:
    """Inside the transaction: lock the ticket, move its people outside, log, count, write the exit row."""
    now = db.session.execute(_LOCK_TICKET, {"ticket": row.id}).one()
    inside = now.checked_in_people - now.outside_people
    asked = people or max(1, inside)
    n = min(asked, max(0, inside))
    if n <= 0:
        scan["conflict"] = True
        verdict = Verdict(EXIT, "exit_without_entry", ticket=dict(ticket_summary(row), inside=0), flags=dict(
            flags, conflict=True, unknown_entry=True), extra={"left": 0})
        insert_scan(scan, verdict, people=asked)
        return verdict
    from_overflow = min(now.overflow_people, n)
    db.session.execute(rsvp_t.update().where(rsvp_t.c.id == row.id).values(
        outside_people=rsvp_t.c.outside_people + n, overflow_people=rsvp_t.c.overflow_people - from_overflow))
    partly = n < asked
    scan["conflict"] = partly
    ticket = dict(ticket_summary(row, now.checked_in_people), inside=inside - n)
    verdict = Verdict(EXIT, "exit_exceeds_inside" if partly else "ok", ticket=ticket,
                      flags=dict(flags, conflict=partly), extra={"left": n})
    scan_id = insert_scan(scan, verdict, people=asked)
    moved = counters.admitted(scan["rally_id"], scan["door_id"], left_at, 0, exits=n, overflow=-from_overflow)
    db.session.execute(checkin_t.insert(), {
        "rally_id": scan["rally_id"], "rsvp_id": row.id, "door_id": scan["door_id"], "scan_id": scan_id,
        "device_name": scan["device_name"], "people": n, "is_walkin": False, "admitted_at": left_at,
        "changed_seq": moved.change, "undo_reason": "", "direction": DIRECTION_EXIT, "reentry": False,
        "overflow_people": from_overflow})
    return verdict
