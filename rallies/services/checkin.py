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

Counters (Rally, Door, ArrivalMinute, peak rate) move by ``x = x + :n`` UPDATEs and a
dialect upsert, in a fixed order (ticket row, log, check-in, minute, door, rally) so
transactions never deadlock; the rally row, the hottest lock, is taken last.

Offline uploads: the server never refuses what already happened at the door. An upload the
device admitted is accepted (the ticket's count is capped at its party size); when the
ticket was already full, the scan is flagged as a conflict for the organizers' report.
Device clocks far from the server's are accepted but flagged, and then server time is used.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..database import atomic
from ..extensions import db
from ..models import Checkin, Door, Rally, Rsvp, ScanLog, utcnow
from . import checkin_sql as Q
from .doors import DoorContext
from .sync import next_seq
from .tickets import InvalidCode, parse_code, verify_code

rsvp_t, rally_t, door_t = Rsvp.__table__, Rally.__table__, Door.__table__
scan_t, checkin_t = ScanLog.__table__, Checkin.__table__

ADMIT, ALREADY, WRONG_RALLY = "admit", "already", "wrong_rally"
CANCELLED, WAITLISTED, REVOKED, INVALID = "cancelled", "waitlisted", "revoked", "invalid"
VERDICTS = (ADMIT, ALREADY, WRONG_RALLY, CANCELLED, WAITLISTED, REVOKED, INVALID)
MESSAGES = {
    ADMIT: "Admit", ALREADY: "Already checked in", WRONG_RALLY: "Wrong rally", CANCELLED: "Cancelled ticket",
    WAITLISTED: "Waitlisted ticket", REVOKED: "Revoked ticket", INVALID: "Not a valid ticket",
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


def clock_flag(client_time: datetime | None, received: datetime, offline: bool) -> bool:
    """True when the device clock is implausible for this scan (accepted, but flagged)."""
    if client_time is None:
        return False
    if client_time > received + CLOCK_SKEW:
        return True
    return client_time < received - (OFFLINE_MAX_AGE if offline else CLOCK_SKEW)


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


def check_in(code, ctx: DoorContext, *, nonce: str, client_time: datetime | None = None, force: bool = False,
             people: int | None = None, offline: bool = False, device_verdict: str | None = None,
             received_at: datetime | None = None) -> Verdict:
    """Decide one scan at a door and record it (see the module docstring for the guarantees)."""
    nonce = check_nonce(nonce)
    people = check_people(people)
    if force and not ctx.is_supervisor:
        raise CheckinInputError("forbidden", "Only a supervisor can override a refusal.", 403)
    received = received_at or utcnow()
    flagged = clock_flag(client_time, received, offline)
    scan = {
        "rally_id": ctx.rally_id, "door_id": ctx.door_id, "session_id": ctx.session_id,
        "device_name": ctx.device_name, "nonce": nonce, "code": log_code(code), "forced": bool(force),
        "offline": bool(offline), "clock_flagged": flagged, "client_time": client_time, "received_at": received,
    }
    flags = {"clock": flagged, "offline": bool(offline), "forced": bool(force), "conflict": False}
    admitted_at = client_time if (offline and client_time and not flagged) else received
    try:
        parsed = parse_code(code)
    except InvalidCode as exc:
        return _refuse(scan, Verdict(INVALID, _invalid_reason(str(exc)), flags=flags))
    row = Q.TICKET.one_or_none({"id": parsed.ticket_id})
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
    scan["rsvp_id"] = row.id
    if offline and device_verdict is not None and device_verdict != ADMIT:
        # Turned away at the door while offline: record what the device decided, admit no one.
        verdict = device_verdict if device_verdict in VERDICTS else INVALID
        return _refuse(scan, Verdict(verdict, "offline_refused", ticket=_ticket(row), flags=flags))
    if offline:
        return _accept_offline(scan, row, people, admitted_at, flags)
    return _admit_online(scan, row, people, force, admitted_at, flags)


def code_for_ticket(rally_id: int, ticket_id) -> str:
    """The code of a ticket picked from a name search at a door of rally_id ("" unless it is one of its tickets)."""
    from .tickets import code_for

    if isinstance(ticket_id, bool) or not isinstance(ticket_id, int) or not 0 < ticket_id < 2**31:
        return ""
    key = db.session.scalar(
        sa.select(rally_t.c.signing_key).join(rsvp_t, rsvp_t.c.rally_id == rally_t.c.id)
        .where(rally_t.c.id == rally_id, rsvp_t.c.id == ticket_id))
    return code_for(rally_id, key, ticket_id) if key else ""


def _invalid_reason(text: str) -> str:
    return {"empty": "empty_code", "too long": "code_too_long", "not text": "not_text",
            "unknown code version": "unknown_version"}.get(text, "malformed_code")


def _ticket(row, checked_in: int | None = None) -> dict:
    party = row.guests + 1
    done = row.checked_in_people if checked_in is None else checked_in
    return {"id": row.id, "name": row.door_name, "party": party, "checked_in": done,
            "remaining": max(0, party - done), "status": row.status}


def _admit_online(scan, row, people, force, admitted_at, flags) -> Verdict:
    """The conditional UPDATE decides; a lost race re-reads the row and decides again."""
    try:
        with atomic():
            for _attempt in range(4):
                if row.status == "cancelled" and not force:
                    return _refuse_in_tx(scan, Verdict(CANCELLED, "ticket_cancelled", ticket=_ticket(row), flags=flags))
                if row.status == "waitlisted" and not force:
                    return _refuse_in_tx(scan, Verdict(WAITLISTED, "ticket_waitlisted", ticket=_ticket(row), flags=flags))
                remaining = row.guests + 1 - row.checked_in_people
                n = people or remaining
                if remaining <= 0 or n > remaining:
                    verdict = Verdict(ALREADY, "already_checked_in" if remaining <= 0 else "party_exceeded",
                                      ticket=_ticket(row), previous=_previous(row.id), flags=flags)
                    return _refuse_in_tx(scan, verdict)
                seq = next_seq()
                new = (Q.ADMIT_FORCED if force else Q.ADMIT).scalar({"n": n, "seq": seq, "id": row.id})
                if new is not None:
                    verdict = Verdict(ADMIT, "forced" if force and row.status != "going" else "ok",
                                      ticket=_ticket(row, new), admitted=n, flags=flags)
                    _record_admission(scan, verdict, row.id, n, admitted_at, seq)
                    return verdict
                row = Q.TICKET.one_or_none({"id": row.id})
            return _refuse_in_tx(scan, Verdict(ALREADY, "contended", ticket=_ticket(row), flags=flags))
    except _Replay:
        return _stored(scan)


def _accept_offline(scan, row, people, admitted_at, flags) -> Verdict:
    """An admission that already happened offline: record it, capped at the party, flag doubles."""
    try:
        with atomic():
            # Lock the ticket row (PostgreSQL; SQLite is serialised) so the cap and the flag agree.
            current = db.session.execute(
                sa.select(rsvp_t.c.checked_in_people, rsvp_t.c.guests).where(rsvp_t.c.id == row.id).with_for_update()
            ).one()
            party = current.guests + 1
            n = people or max(1, party - current.checked_in_people)
            counted = max(0, min(n, party - current.checked_in_people))
            conflict = counted < n
            flags = dict(flags, conflict=conflict)
            seq = next_seq()
            if counted:
                db.session.execute(rsvp_t.update().where(rsvp_t.c.id == row.id).values(
                    checked_in_people=rsvp_t.c.checked_in_people + counted, changed_seq=seq))
            previous = _previous(row.id) if conflict else None
            verdict = Verdict(ADMIT, "offline_conflict" if conflict else "offline_accepted",
                              ticket=_ticket(row, current.checked_in_people + counted), admitted=counted,
                              previous=previous, flags=flags)
            scan["conflict"] = conflict
            _record_admission(scan, verdict, row.id, counted, admitted_at, seq, logged_people=n)
            return verdict
    except _Replay:
        return _stored(scan)


def _record_admission(scan, verdict, rsvp_id, n, admitted_at, seq, *, walkin=False, logged_people=None):
    """Log, check-in row and counters for n people (inside the caller's transaction)."""
    scan_id = _insert_scan(scan, verdict, people=n if logged_people is None else logged_people)
    if n <= 0:
        return
    Q.CHECKIN_INSERT({
        "rally_id": scan["rally_id"], "rsvp_id": rsvp_id, "door_id": scan["door_id"], "scan_id": scan_id,
        "device_name": scan["device_name"], "people": n, "is_walkin": walkin, "admitted_at": admitted_at, "seq": seq,
    })
    bump_counters(scan["rally_id"], scan["door_id"], admitted_at, n, walkins=n if walkin else 0)


def _insert_scan(scan: dict, verdict: Verdict, people: int = 0) -> int:
    """Insert the ScanLog row with its response; _Replay if the nonce was already used."""
    values = dict(scan, verdict=verdict.verdict, reason=verdict.reason, people=people, note=scan.get("note", ""))
    values.setdefault("conflict", False)
    values.setdefault("rsvp_id", None)
    # The stored response leaves out scan_id (unknown before the INSERT); _stored adds it back.
    values["response"] = json.dumps(verdict.to_dict())
    scan_id = Q.SCAN_INSERT.scalar(values)
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
    row = db.session.execute(
        sa.select(scan_t.c.id, scan_t.c.response)
        .where(scan_t.c.rally_id == scan["rally_id"], scan_t.c.nonce == scan["nonce"])
    ).one_or_none()
    verdict = Verdict.from_stored(row.response if row else "")
    verdict.scan_id = row.id if row else None
    return verdict


def _previous(rsvp_id: int) -> dict | None:
    """When, where and by which device this ticket was last admitted."""
    row = db.session.execute(
        sa.select(checkin_t.c.admitted_at, checkin_t.c.device_name, door_t.c.name)
        .outerjoin(door_t, door_t.c.id == checkin_t.c.door_id)
        .where(checkin_t.c.rsvp_id == rsvp_id, checkin_t.c.undone_at.is_(None))
        .order_by(checkin_t.c.id.desc()).limit(1)
    ).one_or_none()
    if row is None:
        return None
    return {"at": row.admitted_at.isoformat(), "door": row.name or "", "device": row.device_name}


def minute_of(moment: datetime) -> datetime:
    """The UTC minute a moment falls in (the ArrivalMinute key)."""
    return moment.replace(second=0, microsecond=0)


def bump_counters(rally_id: int, door_id: int | None, moment: datetime, n: int, walkins: int = 0,
                  rsvp_people: int | None = None) -> None:
    """Move every check-in counter by n people (negative to undo), in the deadlock-free order."""
    minute = minute_of(moment)
    rsvp_people = n - walkins if rsvp_people is None else rsvp_people
    params = {"rally_id": rally_id, "door_id": door_id, "minute": minute, "n": n, "w": walkins}
    (Q.MINUTE_UPSERT if n > 0 else Q.MINUTE_UPDATE)(params)
    if door_id is not None:
        Q.DOOR_UPDATE({"n": n, "w": walkins, "id": door_id})
    rally = {"n": n, "rn": rsvp_people, "w": walkins, "id": rally_id}
    if n > 0:
        Q.RALLY_UPDATE(dict(rally, minute=minute))
    else:
        Q.RALLY_UNDO(rally)
