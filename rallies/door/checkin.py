"""The check-in decision: the one place that admits a person, online or from an offline upload.

Semantics follow pretix's redeem: one call takes the scanned code, the door context (door,
device, role), the device's clock, a client nonce and a force flag, and returns a Verdict
with a reason code. Every call, admitted or refused, writes one ScanLog row.

Race safety. Admission is a conditional UPDATE on the RSVP row
(``checked_in_people + n <= guests + 1 AND status = 'going'``); its RETURNING row is the
decision, so two doors scanning the same ticket at once get exactly one ADMIT on both engines
(PostgreSQL re-checks the WHERE against the committed row after waiting on its lock; SQLite
serialises writers with BEGIN IMMEDIATE). Nothing is read in Python and then written.

Idempotency. The ScanLog row is inserted with ``ON CONFLICT (rally_id, nonce) DO NOTHING``
in the same transaction as the admission. When the nonce was seen before, the whole
transaction rolls back (undoing the admission) and the stored response is returned verbatim.

Counters (Rally, ArrivalMinute, peak rate) move through rallies/counters.py, in a fixed
order (ticket row, log, minute, rally) so transactions never deadlock; the rally row, the
hottest lock, is taken last; the same UPDATE hands out the door-sync change number the check-in
row is stamped with (door/sync.py: per rally, numbers follow the order of commits).

Walk-ins (door/admissions.py) create their RSVP and then go through this same decision.

Inside now and venue full. Exits (door/exits.py) are check-ins of direction "exit", as in pretix;
inside now = entries and re-entries minus exits, kept on the rally row. The venue-full rule is the
WHERE of the rally's counter UPDATE (counters.admitted), the last statement of the admission's
transaction: when the people entering do not fit the safe capacity (or the overflow area) it
matches nothing, the whole admission rolls back, and the scan is logged as ``venue_full``. Two
doors admitting the last place at once therefore give exactly one admit. Offline uploads are
never held (the people are already in); the over-limit report shows them afterwards.

Offline uploads go through the same decision. The server never refuses what already happened
at the door: an upload the device admitted is recorded (the ticket's count is capped at its
party size, and extra people are flagged as a conflict for the organizers' report); a ticket
that is not going becomes a flagged override that counts no one. An upload made while the
device was online gets the online verdict. Device clocks that are implausible (far from the
server's, before the device's session, outside the door window) are flagged, and then server
time is used.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..database import atomic, insert
from ..extensions import db
from ..models import Checkin, Door, Rally, Rsvp, ScanLog, utcnow
from ..models.door import DIRECTION_ENTRY
from ..rallies import counters
from ..rsvp.tickets import InvalidCode, ParsedCode, parse_code, verify_code
from .doors import DoorContext
from .scans import inside_now

rsvp_t, rally_t, door_t = Rsvp.__table__, Rally.__table__, Door.__table__
scan_t, checkin_t = ScanLog.__table__, Checkin.__table__

ADMIT, ALREADY, WRONG_RALLY = "admit", "already", "wrong_rally"
CANCELLED, WAITLISTED, REVOKED, INVALID = "cancelled", "waitlisted", "revoked", "invalid"
UNCONFIRMED = "unconfirmed"
#: Inside now: the venue is at its safe capacity (admit no one); admitted to the overflow area instead;
#: the person left earlier and the rally allows no re-entry; an exit recorded.
VENUE_FULL, ADMIT_OVERFLOW, NO_REENTRY, EXIT = "venue_full", "admit_overflow", "no_reentry", "exit"
VERDICTS = (ADMIT, ALREADY, WRONG_RALLY, CANCELLED, WAITLISTED, UNCONFIRMED, REVOKED, INVALID, VENUE_FULL,
            ADMIT_OVERFLOW, NO_REENTRY, EXIT)
MESSAGES = {
    ADMIT: "Admit", ALREADY: "Already checked in", WRONG_RALLY: "Wrong rally", CANCELLED: "Cancelled ticket",
    WAITLISTED: "Waitlisted ticket", UNCONFIRMED: "RSVP not confirmed", REVOKED: "Revoked ticket", INVALID: "Not a valid ticket",
    VENUE_FULL: "VENUE FULL: HOLD", ADMIT_OVERFLOW: "ADMIT TO OVERFLOW", NO_REENTRY: "No re-entry", EXIT: "Exit",
}
#: Online scans: the device clock may differ from the server's by this much before it is flagged.
CLOCK_SKEW = timedelta(minutes=5)
#: Offline scans may be uploaded this long after they happened.
OFFLINE_MAX_AGE = timedelta(hours=48)
MAX_PARTY = 100
_NONCE = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")


class CheckinInputError(Exception):
    """The request itself is unusable (bad nonce, people, role): a 4xx, never a verdict."""

    def __init__(self, code: str, message: str, status: int = 422):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class _Replay(Exception):
    """The nonce was already used: roll back and return the stored response."""


class VenueFull(Exception):
    """The people entering do not fit the venue's safe capacity nor its overflow area: roll back, log a hold."""


@dataclass
class Verdict:
    """The answer to one scan; ``to_dict`` is the JSON the scanner shows."""

    verdict: str
    reason: str
    ticket: dict | None = None
    admitted: int = 0
    previous: dict | None = None
    rally: dict | None = None
    scan_id: int | None = None
    flags: dict = field(default_factory=dict)
    replayed: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        return MESSAGES.get(self.verdict, self.verdict)

    def to_dict(self) -> dict:
        """The JSON body for this verdict."""
        body = {
            "verdict": self.verdict, "reason": self.reason, "message": self.message, "admitted": self.admitted,
            "ticket": self.ticket, "previous": self.previous, "rally": self.rally, "scan_id": self.scan_id,
            "flags": self.flags, "replayed": self.replayed,
        }
        body.update(self.extra)
        return body

    @classmethod
    def from_stored(cls, text: str) -> Verdict:
        """Rebuild the verdict stored for a nonce (marked as replayed)."""
        data = json.loads(text) if text else {"verdict": INVALID, "reason": "replayed"}
        known = {k: data.pop(k, None) for k in ("verdict", "reason", "ticket", "admitted", "previous", "rally",
                                                  "scan_id", "flags")}
        data.pop("message", None)
        data.pop("replayed", None)
        return cls(known["verdict"], known["reason"], known["ticket"], known["admitted"] or 0, known["previous"],
                   known["rally"], known["scan_id"], known["flags"] or {}, True, data)


def check_nonce(nonce) -> str:
    """The nonce if well-formed (8-64 of A-Z a-z 0-9 _ . : -), else CheckinInputError."""
    if not isinstance(nonce, str) or not _NONCE.match(nonce):
        raise CheckinInputError("invalid_nonce", "Each scan needs a nonce of 8 to 64 letters, digits, '-' or '_'.")
    return nonce


def check_people(people) -> int | None:
    """None (the whole remaining party) or a count from 1 to MAX_PARTY."""
    if people is None:
        return None
    if isinstance(people, bool) or not isinstance(people, int) or not 1 <= people <= MAX_PARTY:
        raise CheckinInputError("invalid_people", f"people must be a whole number from 1 to {MAX_PARTY}.")
    return people


def clock_flag(client_time: datetime | None, received: datetime, offline: bool, ctx: DoorContext | None = None) -> bool:
    """True when the device clock is implausible for this scan (accepted, but flagged, and never trusted).

    Implausible: ahead of the server; behind it by more than the skew (online) or OFFLINE_MAX_AGE
    (offline); before this device's session began; or, offline, outside the rally's door window.
    """
    if client_time is None:
        return False
    if client_time > received + CLOCK_SKEW:
        return True
    if client_time < received - (OFFLINE_MAX_AGE if offline else CLOCK_SKEW):
        return True
    if ctx is not None and ctx.session_started is not None and client_time < ctx.session_started - CLOCK_SKEW:
        return True
    return bool(offline and ctx is not None and not ctx.in_window(client_time))


def made_online(client_time: datetime | None, received: datetime, online: bool | None = None) -> bool:
    """Whether an uploaded scan was made while the device was online (it then gets the online verdict).

    online: what the device says (True: sent while online; False: decided offline). Unsaid, a
    client_time within the clock skew of now means online. Claiming "offline" wins nothing: the
    offline decision counts no one an online scan would refuse, and flags the rest.
    """
    if online is not None:
        return online
    return client_time is not None and abs(received - client_time) <= CLOCK_SKEW


def admission_time(client_time: datetime | None, received: datetime, offline: bool, flagged: bool) -> datetime:
    """When the people came in: the device's time only for a plausible offline scan, else the server's."""
    return client_time if (offline and client_time and not flagged) else received


def log_code(code) -> str:
    """What was scanned, made safe to store: printable ASCII, cut to 200 characters."""
    if isinstance(code, bytes):
        code = code.decode("latin-1")
    if not isinstance(code, str):
        return ""
    code = code[:200]
    if code.isascii() and code.isprintable():
        return code
    return "".join(ch if " " <= ch <= "~" else "?" for ch in code)


def new_scan(code, ctx: DoorContext, *, nonce: str, client_time: datetime | None, force: bool, offline: bool,
             received_at: datetime | None = None, online: bool | None = None) -> tuple[dict, dict, datetime]:
    """The scan log row, the verdict flags and the admission time for one scan (checked input)."""
    nonce = check_nonce(nonce)
    if force and not ctx.is_supervisor:
        raise CheckinInputError("forbidden", "Only a supervisor can override a refusal.", 403)
    received = received_at or utcnow()
    if offline and made_online(client_time, received, online):
        offline = False
    flagged = clock_flag(client_time, received, offline, ctx)
    scan = {
        "rally_id": ctx.rally_id, "door_id": ctx.door_id, "session_id": ctx.session_id,
        "device_name": ctx.device_name, "nonce": nonce, "code": log_code(code), "forced": bool(force),
        "offline": bool(offline), "clock_flagged": flagged, "client_time": client_time, "received_at": received,
    }
    flags = {"clock": flagged, "offline": bool(offline), "forced": bool(force), "conflict": False}
    return scan, flags, admission_time(client_time, received, offline, flagged)


def resolve_ticket(code, ctx: DoorContext, scan: dict, flags: dict, ticket_id=None, parsed: ParsedCode | None = None):
    """The ticket row a scan names (a code, or ticket_id from a name search), or the logged refusal Verdict."""
    if ticket_id is not None and code is None:
        row = _picked_ticket(ctx, ticket_id)
        scan["code"] = f"ticket:{row.id}" if row else log_code(str(ticket_id))
        if row is None:
            return _refuse(scan, Verdict(INVALID, "unknown_ticket", flags=flags))
        return row
    if parsed is None:
        try:
            parsed = parse_code(code)
        except InvalidCode as exc:
            return _refuse(scan, Verdict(INVALID, _invalid_reason(str(exc)), flags=flags))
    return _scanned_ticket(scan, ctx, parsed, flags)


def check_in(code, ctx: DoorContext, *, nonce: str, client_time: datetime | None = None, force: bool = False,
             people: int | None = None, offline: bool = False, device_verdict: str | None = None,
             received_at: datetime | None = None, ticket_id=None, online: bool | None = None,
             override_reason: str = "") -> Verdict:
    """Decide one entry scan at a door and record it (see the module docstring for the guarantees).

    The one decision for online scans, offline uploads (offline=True) and name-search admits
    (ticket_id instead of a code: the ticket was picked from this rally's list, so there is no
    signature to check). An upload made while online (see made_online) is decided exactly as an
    online scan. A supervisor's ``force`` with an ``override_reason`` admits past a full venue too.
    """
    people = check_people(people)
    override_reason = " ".join((override_reason or "").split())[:200] if force else ""
    scan, flags, admitted_at = new_scan(code, ctx, nonce=nonce, client_time=client_time, force=force,
                                        offline=offline, received_at=received_at, online=online)
    offline = scan["offline"]
    if override_reason:
        scan["note"] = override_reason
    parsed = None
    if ticket_id is None or code is not None:
        try:
            parsed = parse_code(code)
        except InvalidCode as exc:
            return _refuse(scan, Verdict(INVALID, _invalid_reason(str(exc)), flags=flags))
        if not offline and not force and verify_code(ctx.public_key, ctx.rally_id, parsed):
            # A good code of this rally, scanned online: decide() tries the admission before reading the ticket.
            scan["rsvp_id"] = parsed.ticket_id
            return _admit(scan, None, people, force, admitted_at, flags, offline)
    row = resolve_ticket(code, ctx, scan, flags, ticket_id, parsed)
    if isinstance(row, Verdict):
        return row
    scan["rsvp_id"] = row.id
    if offline and device_verdict is not None and device_verdict not in (ADMIT, ADMIT_OVERFLOW):
        # Turned away at the door while offline: record what the device decided, admit no one.
        verdict = device_verdict if device_verdict in VERDICTS else INVALID
        return _refuse(scan, Verdict(verdict, "offline_refused", ticket=_ticket(row), flags=flags))
    # Sent to the overflow area while offline: counted there, as the door decided.
    overflow = offline and device_verdict == ADMIT_OVERFLOW
    return _admit(scan, row, people, force, admitted_at, flags, offline, override=bool(override_reason),
                  to_overflow=overflow)


def _picked_ticket(ctx: DoorContext, ticket_id):
    """The ticket chosen from a name search, if it is one of this rally's."""
    if isinstance(ticket_id, bool) or not isinstance(ticket_id, int) or not 0 < ticket_id < 2**31:
        return None
    row = ticket_row(ticket_id)
    return row if row is not None and row.rally_id == ctx.rally_id else None


# The statements every scan runs, built once; values are bound parameters.
_TICKET = (sa.select(rsvp_t.c.id, rsvp_t.c.rally_id, rsvp_t.c.status, rsvp_t.c.guests, rsvp_t.c.checked_in_people,
                     rsvp_t.c.door_name, rally_t.c.public_key, rally_t.c.title, rally_t.c.starts_at,
                     rsvp_t.c.outside_people, rsvp_t.c.overflow_people, rally_t.c.reentry_allowed)
           .join_from(rsvp_t, rally_t, rally_t.c.id == rsvp_t.c.rally_id).where(rsvp_t.c.id == sa.bindparam("ticket")))
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
_STORED = sa.select(scan_t.c.id, scan_t.c.response).where(scan_t.c.rally_id == sa.bindparam("rally"),
                                                            scan_t.c.nonce == sa.bindparam("nonce"))
_PREVIOUS = (sa.select(checkin_t.c.admitted_at, checkin_t.c.device_name, door_t.c.name)
             .outerjoin(door_t, door_t.c.id == checkin_t.c.door_id)
             .where(checkin_t.c.rsvp_id == sa.bindparam("ticket"), checkin_t.c.undone_at.is_(None),
                    checkin_t.c.direction == DIRECTION_ENTRY)
             .order_by(checkin_t.c.id.desc()).limit(1))
#: Re-entry: people of the party who left come back in (the WHERE is the guard).
_REENTER = (rsvp_t.update()
            .where(rsvp_t.c.id == sa.bindparam("ticket"), _OURS, rsvp_t.c.outside_people >= sa.bindparam("n"))
            .values(outside_people=rsvp_t.c.outside_people - sa.bindparam("n"))
            .returning(*_ADMITTED))


def ticket_row(rsvp_id: int):
    """What the decision needs about one ticket and its rally (a Row), or None."""
    return db.session.execute(_TICKET, {"ticket": rsvp_id}).one_or_none()


def _scanned_ticket(scan: dict, ctx: DoorContext, parsed: ParsedCode, flags: dict):
    """The ticket a parsed code names, or the logged refusal Verdict when the code is not good here."""
    row = ticket_row(parsed.ticket_id)
    if row is None:
        key = db.session.scalar(sa.select(rally_t.c.public_key).where(rally_t.c.id == ctx.rally_id))
        if verify_code(key, ctx.rally_id, parsed):
            return _refuse(scan, Verdict(REVOKED, "ticket_deleted", ticket={"id": parsed.ticket_id}, flags=flags))
        return _refuse(scan, Verdict(INVALID, "unknown_ticket", flags=flags))
    if row.rally_id != ctx.rally_id:
        if verify_code(row.public_key, row.rally_id, parsed):
            rally = {"id": row.rally_id, "title": row.title, "starts_at": row.starts_at.isoformat()}
            return _refuse(scan, Verdict(WRONG_RALLY, "wrong_rally", rally=rally, flags=flags))
        return _refuse(scan, Verdict(INVALID, "bad_signature", flags=flags))
    if not verify_code(row.public_key, ctx.rally_id, parsed):
        return _refuse(scan, Verdict(INVALID, "bad_signature", flags=flags))
    return row


def _invalid_reason(text: str) -> str:
    return {"empty": "empty_code", "too long": "code_too_long", "not text": "not_text",
            "unknown code version": "unknown_version"}.get(text, "malformed_code")


def _ticket(row, checked_in: int | None = None) -> dict:
    party = row.guests + 1
    done = row.checked_in_people if checked_in is None else checked_in
    return {"id": row.id, "name": row.door_name, "party": party, "checked_in": done,
            "remaining": max(0, party - done), "status": row.status}


def _admit(scan, row, people, force, admitted_at, flags, offline, override=False, to_overflow=False) -> Verdict:
    """Decide and record one admission in its own transaction (or replay the stored answer)."""
    try:
        with atomic():
            return decide(scan, row, people, force, admitted_at, flags, offline, override=override,
                          to_overflow=to_overflow)
    except _Replay:
        return _stored(scan)
    except VenueFull:
        return _refuse(scan, venue_full_verdict(scan["rally_id"], scan["door_id"], flags))


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
            verdict = Verdict(ADMIT, "ok", ticket=_ticket(row, new), admitted=n, flags=flags)
            _record_admission(scan, verdict, row.id, n, admitted_at, logged_people=asked, check=not override)
            return verdict
        refused = {"cancelled": CANCELLED, "waitlisted": WAITLISTED, "unconfirmed": UNCONFIRMED}.get(row.status)
        if refused and offline:
            flags = dict(flags, conflict=True, override=True)
            scan["conflict"] = True
            verdict = Verdict(refused, "offline_override", ticket=_ticket(row), flags=flags)
            _insert_scan(scan, verdict, people=people or row.guests + 1)
            return verdict
        if refused and not force:
            return _refuse_in_tx(scan, Verdict(refused, f"ticket_{row.status}", ticket=_ticket(row), flags=flags))
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
                              ticket=_ticket(row), previous=_previous(row.id), flags=flags)
            return _refuse_in_tx(scan, verdict)
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
                              ticket=_ticket(row, new), admitted=n,
                              previous=_previous(row.id) if conflict else None, flags=flags)
        else:
            verdict = Verdict(ADMIT, "forced" if force and row.status != "going" else "ok",
                              ticket=_ticket(row, new), admitted=n, flags=flags)
        if walkin:
            verdict.reason = "walkin"
            verdict.ticket["walkin"] = True
        _record_admission(scan, verdict, row.id, n, admitted_at, walkin=walkin, logged_people=asked,
                          check=not (offline or override), to_overflow=to_overflow)
        return verdict
    return _refuse_in_tx(scan, Verdict(ALREADY, "contended", ticket=_ticket(row), flags=flags))


def _reenter(scan, row, people, force, admitted_at, flags, offline, override, to_overflow=False) -> Verdict | None:
    """People of the party who left by an exit come back in, if the rally allows re-entry (None: lost a race).

    Offline the re-entry already happened: it is counted, and flagged when the rally allows none.
    """
    refused = not row.reentry_allowed and not force
    if refused and not offline:
        return _refuse_in_tx(scan, Verdict(NO_REENTRY, "reentry_not_allowed", ticket=_ticket(row),
                                           previous=_previous(row.id), flags=flags))
    asked = people or row.outside_people
    if not offline and asked > row.outside_people:
        return _refuse_in_tx(scan, Verdict(ALREADY, "party_exceeded", ticket=_ticket(row),
                                           previous=_previous(row.id), flags=flags))
    n = min(asked, row.outside_people)
    new = db.session.execute(_REENTER, {"ticket": row.id, "rally": scan["rally_id"], "n": n}).one_or_none()
    if new is None:
        return None
    conflict = offline and (refused or n < asked)
    scan["conflict"] = conflict
    flags = dict(flags, conflict=conflict, reentry=True)
    reason = "offline_reentry" if offline else "reentry"
    verdict = Verdict(ADMIT, reason, ticket=_ticket(new), admitted=n, flags=flags)
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
        return _refuse_in_tx(scan, Verdict(REVOKED, "ticket_deleted", ticket={"id": ticket_id}, flags=flags))
    return _refuse_in_tx(scan, Verdict(INVALID, "bad_signature", flags=flags))


def _record_admission(scan, verdict, rsvp_id, n, admitted_at, *, walkin=False, logged_people=None, reentry=False,
                      check=True, to_overflow=False):
    """Log, counters (the rally's UPDATE hands out the change number), then the check-in row, stamped with it.

    With ``check`` the counters' UPDATE applies the venue-full rule: people who do not fit the venue go
    to the overflow area when it has room (the verdict becomes ADMIT TO OVERFLOW), else VenueFull
    rolls the whole admission back. The ticket itself is not stamped again: door/sync.py finds the
    tickets whose check-ins changed. ``to_overflow``: an offline door already sent them to the overflow area.
    """
    scan_id = _insert_scan(scan, verdict, people=n if logged_people is None else logged_people)
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


def _insert_scan(scan: dict, verdict: Verdict, people: int = 0) -> int:
    """Insert the ScanLog row with its response; _Replay if the nonce was already used."""
    values = dict(scan, verdict=verdict.verdict, reason=verdict.reason, people=people, note=scan.get("note", ""))
    values.setdefault("conflict", False)
    values.setdefault("rsvp_id", None)
    # The stored response leaves out scan_id (unknown before the INSERT); _stored adds it back.
    values["response"] = json.dumps(verdict.to_dict())
    new_scan = insert(scan_t).on_conflict_do_nothing(index_elements=["rally_id", "nonce"]).returning(scan_t.c.id)
    scan_id = db.session.execute(new_scan, values).scalar()
    if scan_id is None:
        raise _Replay()
    verdict.scan_id = scan_id
    return scan_id


def _refuse(scan: dict, verdict: Verdict) -> Verdict:
    """Log a refusal in its own transaction (or replay the stored answer)."""
    try:
        with atomic():
            return _refuse_in_tx(scan, verdict)
    except _Replay:
        return _stored(scan)


def _refuse_in_tx(scan: dict, verdict: Verdict) -> Verdict:
    _insert_scan(scan, verdict)
    return verdict


def _stored(scan: dict) -> Verdict:
    row = db.session.execute(_STORED, {"rally": scan["rally_id"], "nonce": scan["nonce"]}).one_or_none()
    verdict = Verdict.from_stored(row.response if row else "")
    verdict.scan_id = row.id if row else None
    return verdict


def _previous(rsvp_id: int) -> dict | None:
    """When, where and by which device this ticket was last admitted."""
    row = db.session.execute(_PREVIOUS, {"ticket": rsvp_id}).one_or_none()
    if row is None:
        return None
    return {"at": row.admitted_at.isoformat(), "door": row.name or "", "device": row.device_name}
