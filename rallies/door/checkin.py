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

Where it lives: this module is the entry point; verdicts.py (Verdict, reasons, input errors),
scan_input.py (nonce, party size, device clock), ticket_reads.py (which ticket a code names),
decision.py (the admission statements and counters) and scan_record.py (the log row and replays).
"""

from __future__ import annotations

from datetime import datetime

from ..rsvp.tickets import InvalidCode, parse_code, verify_code
from .decision import admit_scan
from .doors import DoorContext
from .scan_input import check_people, new_scan
from .scan_record import refuse
from .ticket_reads import invalid_reason, resolve_ticket, ticket_summary
from .verdicts import ADMIT, ADMIT_OVERFLOW, INVALID, VERDICTS, Verdict


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
            return refuse(scan, Verdict(INVALID, invalid_reason(str(exc)), flags=flags))
        if not offline and not force and verify_code(ctx.public_key, ctx.rally_id, parsed):
            # A good code of this rally, scanned online: decide() tries the admission before reading the ticket.
            scan["rsvp_id"] = parsed.ticket_id
            return admit_scan(scan, None, people, force, admitted_at, flags, offline)
    row = resolve_ticket(code, ctx, scan, flags, ticket_id, parsed)
    if isinstance(row, Verdict):
        return row
    scan["rsvp_id"] = row.id
    if offline and device_verdict is not None and device_verdict not in (ADMIT, ADMIT_OVERFLOW):
        # Turned away at the door while offline: record what the device decided, admit no one.
        verdict = device_verdict if device_verdict in VERDICTS else INVALID
        return refuse(scan, Verdict(verdict, "offline_refused", ticket=ticket_summary(row), flags=flags))
    # Sent to the overflow area while offline: counted there, as the door decided.
    overflow = offline and device_verdict == ADMIT_OVERFLOW
    return admit_scan(scan, row, people, force, admitted_at, flags, offline, override=bool(override_reason),
                      to_overflow=overflow)
