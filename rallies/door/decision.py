"""The admission decision: the one place that admits people, as conditional UPDATEs, and what it counts.

See door/checkin.py for the guarantees (race safety, idempotency, counters, venue full, offline).
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from ..database import atomic
from ..extensions import db
from ..models import Checkin, Rsvp, ScanLog
from ..models.door import DIRECTION_ENTRY
from ..rallies import counters
from .scan_record import Replay, insert_scan, refuse, refuse_in_tx, stored_verdict
from .scans import inside_now
from .ticket_reads import previous_admission, ticket_row, ticket_summary
from .verdicts import (
    ADMIT,
    ADMIT_OVERFLOW,
    ALREADY,
    CANCELLED,
    INVALID,
    NO_REENTRY,
    REVOKED,
    UNCONFIRMED,
    VENUE_FULL,
    WAITLISTED,
    VenueFull,
    Verdict,
)

rsvp_t, scan_t, checkin_t = Rsvp.__table__, ScanLog.__table__, Checkin.__table__

# The admission statements, built once; values are bound parameters.
#: What an admission returns: the ticket as it is now (checked_in_people first).
_ADMITTED = (rsvp_t.c.checked_in_people, rsvp_t.c.id, rsvp_t.c.rally_id, rsvp_t.c.status, rsvp_t.c.guests,
             rsvp_t.c.door_name, rsvp_t.c.outside_people, rsvp_t.c.overflow_people)
_OURS = rsvp_t.c.rally_id == sa.bindparam("rally")
#: The admission itself: the WHERE is the guard (n people fit the party, and the ticket is going).
_ADMIT = (rsvp_t.update()
          .where(rsvp_t.c.id == sa.bindparam("ticket"), _OURS,
                 rsvp_t.c.checked_in_people + sa.bindparam("n") <= rsvp_t.c.guests + 1, rsvp_t.c.status == "going")
          .values(checked_in_people=rsvp_t.c.checked_in_people + sa.bindparam("n"))
          .returning(*_ADMITTED))
#: A supervisor's override lifts the status rule, never the party size.
_ADMIT_FORCED = (rsvp_t.update()
                 .where(rsvp_t.c.id == sa.bindparam("ticket"), _OURS,
                        rsvp_t.c.checked_in_people + sa.bindparam("n") <= rsvp_t.c.guests + 1)
                 .values(checked_in_people=rsvp_t.c.checked_in_people + sa.bindparam("n"))
                 .returning(*_ADMITTED))
#: A ticket not read yet, people unsaid: the whole party, only while no one of it is in and it is going.
_ADMIT_PARTY = (rsvp_t.update()
                .where(rsvp_t.c.id == sa.bindparam("ticket"), _OURS, rsvp_t.c.checked_in_people == 0,
                       rsvp_t.c.status == "going")
                .values(checked_in_people=rsvp_t.c.guests + 1)
                .returning(*_ADMITTED))
_CHECKIN_INSERT = checkin_t.insert()
#: Re-entry: people of the party who left come back in (the WHERE is the guard).
_REENTER = (rsvp_t.update()
            .where(rsvp_t.c.id == sa.bindparam("ticket"), _OURS, rsvp_t.c.outside_people >= sa.bindparam("n"))
            .values(outside_people=rsvp_t.c.outside_people - sa.bindparam("n"))
            .returning(*_ADMITTED))


def admit_scan(scan, row, people, force, admitted_at, flags, offline, override=False, to_overflow=False) -> Verdict:
    """Decide and record one admission in its own transaction (or replay the stored answer)."""
    try:
        with atomic():
            return decide(scan, row, people, force, admitted_at, flags, offline, override=override,
                          to_overflow=to_overflow)
    except Replay:
        return stored_verdict(scan)
    except VenueFull:
        return refuse(scan, venue_full_verdict(scan["rally_id"], scan["door_id"], flags))


def venue_full_verdict(rally_id: int, door_id: int | None, flags: dict, ticket: dict | None = None) -> Verdict:
    """VENUE FULL: HOLD, with the count now (read after the refused admission rolled back)."""
    return Verdict(VENUE_FULL, "venue_full", ticket=ticket, flags=flags, extra={"inside": inside_now(rally_id, door_id)})


def decide(scan, row, people, force, admitted_at, flags, offline, walkin=False, override=False,
           to_overflow=False) -> Verdict:
    """The admission decision for one ticket row, inside the caller's transaction.

    The conditional UPDATE decides; a lost race re-reads the row and decides again. Online, a
    ticket that is not going or has no one left to admit is refused. Offline, the people are
    already inside, so the scan is recorded, never refused: a ticket that is not going becomes an
    override (flagged for the conflict report, no one counted as admitted), and people beyond the
    party are flagged as a conflict and not counted. Only ``force`` (a supervisor's, checked by
    check_in) lifts the status rule, and no path counts more people than the party.

    ``row`` None: a good code of this rally (scan["rsvp_id"]), scanned online and not read yet.
    Most scans are a ticket's first admission, so that UPDATE goes first (the people asked, or the
    whole party while no one of it is in) and the ticket is read only when it does not match.
    """
    for _attempt in range(4):
        if row is None:
            n, row = _admit_unread(scan, people)
            if row is None:
                row = ticket_row(scan["rsvp_id"])
                if row is None or row.rally_id != scan["rally_id"]:
                    return _refuse_unread(scan, row, flags)
                continue
            asked, new = n, row.checked_in_people
            verdict = Verdict(ADMIT, "ok", ticket=ticket_summary(row, new), admitted=n, flags=flags)
            _record_admission(scan, verdict, row.id, n, admitted_at, logged_people=asked, check=not override)
            return verdict
        refused = {"cancelled": CANCELLED, "waitlisted": WAITLISTED, "unconfirmed": UNCONFIRMED}.get(row.status)
        if refused and offline:
            flags = dict(flags, conflict=True, override=True)
            scan["conflict"] = True
            verdict = Verdict(refused, "offline_override", ticket=ticket_summary(row), flags=flags)
            insert_scan(scan, verdict, people=people or row.guests + 1)
            return verdict
        if refused and not force:
            return refuse_in_tx(scan, Verdict(refused, f"ticket_{row.status}", ticket=ticket_summary(row),
                                              flags=flags))
        remaining = row.guests + 1 - row.checked_in_people
        if remaining <= 0 and row.outside_people > 0:
            verdict = _reenter(scan, row, people, force, admitted_at, flags, offline, override, to_overflow)
            if verdict is None:  # lost a race on the ticket: read it again
                row = ticket_row(row.id)
                continue
            return verdict
        asked = people or (max(1, remaining) if offline else remaining)
        n = min(asked, max(0, remaining)) if offline else asked
        if not offline and (remaining <= 0 or n > remaining):
            verdict = Verdict(ALREADY, "already_checked_in" if remaining <= 0 else "party_exceeded",
                              ticket=ticket_summary(row), previous=previous_admission(row.id), flags=flags)
            return refuse_in_tx(scan, verdict)
        new = row.checked_in_people
        if n > 0:
            new = _admit_ticket(scan, row.id, n, force)
            if new is None:
                row = ticket_row(row.id)
                continue
        if offline:
            conflict = n < asked
            flags = dict(flags, conflict=conflict)
            scan["conflict"] = conflict
            verdict = Verdict(ADMIT, "offline_conflict" if conflict else "offline_accepted",
                              ticket=ticket_summary(row, new), admitted=n,
                              previous=previous_admission(row.id) if conflict else None, flags=flags)
        else:
            verdict = Verdict(ADMIT, "forced" if force and row.status != "going" else "ok",
                              ticket=ticket_summary(row, new), admitted=n, flags=flags)
        if walkin:
            verdict.reason = "walkin"
            verdict.ticket["walkin"] = True
        _record_admission(scan, verdict, row.id, n, admitted_at, walkin=walkin, logged_people=asked,
                          check=not (offline or override), to_overflow=to_overflow)
        return verdict
    return refuse_in_tx(scan, Verdict(ALREADY, "contended", ticket=ticket_summary(row), flags=flags))


def _reenter(scan, row, people, force, admitted_at, flags, offline, override, to_overflow=False) -> Verdict | None:
    """People of the party who left by an exit come back in, if the rally allows re-entry (None: lost a race).

    Offline the re-entry already happened: it is counted, and flagged when the rally allows none.
    """
    refused = not row.reentry_allowed and not force
    if refused and not offline:
        return refuse_in_tx(scan, Verdict(NO_REENTRY, "reentry_not_allowed", ticket=ticket_summary(row),
                                          previous=previous_admission(row.id), flags=flags))
    asked = people or row.outside_people
    if not offline and asked > row.outside_people:
        return refuse_in_tx(scan, Verdict(ALREADY, "party_exceeded", ticket=ticket_summary(row),
                                          previous=previous_admission(row.id), flags=flags))
    n = min(asked, row.outside_people)
    new = db.session.execute(_REENTER, {"ticket": row.id, "rally": scan["rally_id"], "n": n}).one_or_none()
    if new is None:
        return None
    conflict = offline and (refused or n < asked)
    scan["conflict"] = conflict
    flags = dict(flags, conflict=conflict, reentry=True)
    reason = "offline_reentry" if offline else "reentry"
    verdict = Verdict(ADMIT, reason, ticket=ticket_summary(new), admitted=n, flags=flags)
    _record_admission(scan, verdict, row.id, n, admitted_at, logged_people=asked, reentry=True,
                      check=not (offline or override), to_overflow=to_overflow)
    return verdict


def _admit_ticket(scan: dict, rsvp_id: int, n: int, force: bool) -> int | None:
    """Add n people to the ticket only if they fit its party (and it is going, unless forced).

    The SQL WHERE is the guard: the new checked_in_people, or None when it did not match.
    """
    return db.session.execute(_ADMIT_FORCED if force else _ADMIT,
                              {"ticket": rsvp_id, "rally": scan["rally_id"], "n": n}).scalar()


def _admit_unread(scan: dict, people: int | None):
    """(n, the ticket after admitting n of it) for a ticket not read yet, or (0, None) when the guard did not match."""
    params = {"ticket": scan["rsvp_id"], "rally": scan["rally_id"]}
    if people is None:
        row = db.session.execute(_ADMIT_PARTY, params).one_or_none()
        return (row.checked_in_people, row) if row is not None else (0, None)
    row = db.session.execute(_ADMIT, dict(params, n=people)).one_or_none()
    return (people, row) if row is not None else (0, None)


def _refuse_unread(scan: dict, row, flags: dict) -> Verdict:
    """A good code of this rally whose ticket is gone (deleted), or belongs to another rally (not our signature)."""
    ticket_id, scan["rsvp_id"] = scan["rsvp_id"], None
    if row is None:
        return refuse_in_tx(scan, Verdict(REVOKED, "ticket_deleted", ticket={"id": ticket_id}, flags=flags))
    return refuse_in_tx(scan, Verdict(INVALID, "bad_signature", flags=flags))


def _record_admission(scan, verdict, rsvp_id, n, admitted_at, *, walkin=False, logged_people=None, reentry=False,
                      check=True, to_overflow=False):
    """Log, counters (the rally's UPDATE hands out the change number), then the check-in row, stamped with it.

    With ``check`` the counters' UPDATE applies the venue-full rule: people who do not fit the venue go
    to the overflow area when it has room (the verdict becomes ADMIT TO OVERFLOW), else VenueFull
    rolls the whole admission back. The ticket itself is not stamped again: door/sync.py finds the
    tickets whose check-ins changed. ``to_overflow``: an offline door already sent them to the overflow area.
    """
    scan_id = insert_scan(scan, verdict, people=n if logged_people is None else logged_people)
    if n <= 0:
        return
    arrivals, reentries = (0, n) if reentry else (n, 0)
    walkins = n if walkin else 0
    moved = counters.admitted(scan["rally_id"], scan["door_id"], admitted_at, arrivals, walkins,
                              reentries=reentries, check=check, spill=check, overflow=n if to_overflow else 0)
    if moved is None:
        raise VenueFull()
    overflow = n if to_overflow else moved.overflow_in
    if overflow:
        db.session.execute(rsvp_t.update().where(rsvp_t.c.id == rsvp_id)
                           .values(overflow_people=rsvp_t.c.overflow_people + overflow))
        verdict.verdict, verdict.reason = ADMIT_OVERFLOW, "venue_full"
        db.session.execute(scan_t.update().where(scan_t.c.id == scan_id)
                           .values(verdict=ADMIT_OVERFLOW, reason="venue_full", response=json.dumps(verdict.to_dict())))
    # Known only after the counters move, so the stored (replayed) response leaves it out.
    verdict.extra["at_capacity"] = moved.at_capacity
    seq = moved.change
    db.session.execute(_CHECKIN_INSERT, {
        "rally_id": scan["rally_id"], "rsvp_id": rsvp_id, "door_id": scan["door_id"], "scan_id": scan_id,
        "device_name": scan["device_name"], "people": n, "is_walkin": walkin, "admitted_at": admitted_at,
        "changed_seq": seq, "undo_reason": "", "direction": DIRECTION_ENTRY, "reentry": reentry,
        "overflow_people": overflow})
