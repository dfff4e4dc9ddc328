"""Door actions besides a scan: walk-ins, supervisor undo, and admitting only part of a party.

They share the guarantees of services.checkin: one transaction each, idempotent by client
nonce (ScanLog's unique (rally_id, nonce)), counters moved only by atomic UPDATEs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..database import atomic
from ..extensions import db
from ..models import utcnow
from .checkin import (
    ADMIT,
    CheckinInputError,
    Verdict,
    _insert_scan,
    _Replay,
    _stored,
    bump_counters,
    check_nonce,
    checkin_t,
    clock_flag,
    rally_t,
    rsvp_t,
    scan_t,
)
from .doors import DoorContext
from .emails import normalise_email
from .link_secrets import new_page_token
from .sync import next_seq

#: A scanner may reduce its own admission (only part of the party came) within this time.
REDUCE_WINDOW = timedelta(minutes=10)
MAX_WALKIN_GUESTS = 20


def _scan(ctx: DoorContext, nonce: str, client_time, offline=False, **extra) -> dict:
    received = utcnow()
    return {
        "rally_id": ctx.rally_id, "door_id": ctx.door_id, "session_id": ctx.session_id, "device_name": ctx.device_name,
        "nonce": check_nonce(nonce), "code": "", "forced": False, "offline": bool(offline),
        "clock_flagged": clock_flag(client_time, received, offline), "client_time": client_time,
        "received_at": received, **extra,
    }


def admit_walkin(ctx: DoorContext, *, name: str, nonce: str, email: str = "", postal_code: str = "", guests: int = 0,
                 client_time: datetime | None = None, offline: bool = False) -> Verdict:
    """Create a walk-in RSVP and check the whole party in at once, even over capacity."""
    from .rsvps import door_name, search_text

    name = " ".join((name or "").split())[:120]
    if not name:
        raise CheckinInputError("invalid_name", "Enter the walk-in's name.")
    email = normalise_email(email)[:254] or None
    if email and ("@" not in email or " " in email):
        raise CheckinInputError("invalid_email", "Enter a valid email, or leave it empty.")
    postal_code = (postal_code or "").strip()[:20]
    if isinstance(guests, bool) or not isinstance(guests, int) or not 0 <= guests <= MAX_WALKIN_GUESTS:
        raise CheckinInputError("invalid_guests", f"Guests must be a whole number from 0 to {MAX_WALKIN_GUESTS}.")
    scan = _scan(ctx, nonce, client_time, offline)
    people = guests + 1
    admitted_at = client_time if (offline and client_time and not scan["clock_flagged"]) else scan["received_at"]
    try:
        with atomic():
            if email:
                existing = db.session.scalar(
                    sa.select(rsvp_t.c.id).where(rsvp_t.c.rally_id == ctx.rally_id, rsvp_t.c.email == email))
                if existing:
                    raise CheckinInputError("already_registered", "This email already has a ticket for this rally: "
                                            "search for it and admit it from there.", 409)
            seq = next_seq()
            rsvp_id = db.session.execute(rsvp_t.insert().values(
                rally_id=ctx.rally_id, **new_page_token().columns(), name=name, email=email, phone="",
                postal_code=postal_code, door_name=door_name(name), search_name=search_text(name, email, ""),
                guests=guests, status="going", is_walkin=True, checked_in_people=people, changed_seq=seq,
                status_at=scan["received_at"], created_at=scan["received_at"], updated_at=scan["received_at"],
            ).returning(rsvp_t.c.id)).scalar()
            # Walk-ins are going (so RSVP recounts agree) even past capacity: the door enforces it.
            db.session.execute(rally_t.update().where(rally_t.c.id == ctx.rally_id).values(
                going_people=rally_t.c.going_people + people, going_parties=rally_t.c.going_parties + 1,
                guests_count=rally_t.c.guests_count + guests))
            capacity, going = db.session.execute(
                sa.select(rally_t.c.capacity, rally_t.c.going_people).where(rally_t.c.id == ctx.rally_id)).one()
            ticket = {"id": rsvp_id, "name": door_name(name), "party": people, "checked_in": people, "remaining": 0,
                      "status": "going", "walkin": True}
            verdict = Verdict(ADMIT, "walkin", ticket=ticket, admitted=people,
                              flags={"clock": scan["clock_flagged"], "offline": bool(offline), "forced": False,
                                     "conflict": False},
                              extra={"over_capacity": capacity is not None and going > capacity,
                                     "capacity": capacity, "going_people": going})
            scan["rsvp_id"] = rsvp_id
            scan_id = _insert_scan(scan, verdict, people=people)
            db.session.execute(checkin_t.insert().values(
                rally_id=ctx.rally_id, rsvp_id=rsvp_id, door_id=ctx.door_id, scan_id=scan_id,
                device_name=ctx.device_name, people=people, is_walkin=True, admitted_at=admitted_at, changed_seq=seq,
                undo_reason=""))
            bump_counters(ctx.rally_id, ctx.door_id, admitted_at, people, walkins=people)
            return verdict
    except _Replay:
        return _stored(scan)
    except IntegrityError as exc:
        raise CheckinInputError("already_registered", "This email already has a ticket for this rally.", 409) from exc


def undo_checkin(ctx: DoorContext, *, rsvp_id: int, reason: str, nonce: str, people: int | None = None) -> Verdict:
    """Supervisor: take back the ticket's latest admission (all of it, or `people` of it), with a reason."""
    if not ctx.is_supervisor:
        raise CheckinInputError("forbidden", "Only a supervisor can undo a check-in.", 403)
    reason = " ".join((reason or "").split())[:200]
    if not reason:
        raise CheckinInputError("reason_required", "Say why the check-in is undone.")
    if isinstance(rsvp_id, bool) or not isinstance(rsvp_id, int) or not 0 < rsvp_id < 2**31:
        raise CheckinInputError("invalid_ticket_id", "That is not a ticket of this rally.")
    return _reverse(ctx, nonce, reason, people, sa.and_(checkin_t.c.rsvp_id == rsvp_id))


def reduce_admission(ctx: DoorContext, *, scan_id: int, keep: int, nonce: str) -> Verdict:
    """Scanner: only `keep` of the party just admitted came in now; the rest can be admitted later."""
    if isinstance(scan_id, bool) or not isinstance(scan_id, int) or not 0 < scan_id < 2**63:
        raise CheckinInputError("invalid_scan_id", "That is not a scan of this door.")
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise CheckinInputError("invalid_people", "keep must be at least 1 (undo the whole check-in instead).")
    since = utcnow() - REDUCE_WINDOW
    cond = sa.and_(checkin_t.c.scan_id == scan_id, checkin_t.c.admitted_at >= since)
    if not ctx.is_supervisor:
        cond = sa.and_(cond, scan_t.c.session_id == ctx.session_id)
    return _reverse(ctx, nonce, "part of party", None, cond, keep=keep)


def _reverse(ctx, nonce, reason, people, cond, keep=None) -> Verdict:
    """Reduce (or mark undone) one check-in row and move every counter back, idempotently."""
    scan = _scan(ctx, nonce, None, note=reason)
    try:
        with atomic():
            row = db.session.execute(
                sa.select(checkin_t.c.id, checkin_t.c.rsvp_id, checkin_t.c.people, checkin_t.c.door_id,
                          checkin_t.c.admitted_at, checkin_t.c.is_walkin)
                .select_from(checkin_t.outerjoin(scan_t, scan_t.c.id == checkin_t.c.scan_id))
                .where(cond, checkin_t.c.rally_id == ctx.rally_id, checkin_t.c.undone_at.is_(None))
                .order_by(checkin_t.c.id.desc()).limit(1).with_for_update(of=checkin_t)
            ).one_or_none()
            if row is None:
                verdict = Verdict("undo", "nothing_to_undo", flags={})
                _insert_scan(scan, verdict)
                return verdict
            take = row.people - keep if keep is not None else min(people or row.people, row.people)
            if take <= 0:
                raise CheckinInputError("invalid_people", "That is not fewer people than were admitted.")
            seq = next_seq()
            values = {"people": row.people - take, "changed_seq": seq}
            if take == row.people:
                values.update(undone_at=scan["received_at"], undo_reason=reason, people=row.people)
            db.session.execute(checkin_t.update().where(checkin_t.c.id == row.id).values(**values))
            new = db.session.execute(
                rsvp_t.update().where(rsvp_t.c.id == row.rsvp_id)
                .values(checked_in_people=sa.case((rsvp_t.c.checked_in_people >= take,
                                                   rsvp_t.c.checked_in_people - take), else_=0), changed_seq=seq)
                .returning(rsvp_t.c.checked_in_people, rsvp_t.c.guests, rsvp_t.c.door_name, rsvp_t.c.status)
            ).one_or_none()
            ticket = None
            if new is not None:
                ticket = {"id": row.rsvp_id, "name": new.door_name, "party": new.guests + 1,
                          "checked_in": new.checked_in_people, "remaining": new.guests + 1 - new.checked_in_people,
                          "status": new.status}
            verdict = Verdict("undo", "undone" if keep is None else "reduced", ticket=ticket, admitted=-take, flags={})
            scan["rsvp_id"] = row.rsvp_id
            _insert_scan(scan, verdict, people=take)
            bump_counters(ctx.rally_id, row.door_id, row.admitted_at, -take, walkins=-take if row.is_walkin else 0)
            return verdict
    except _Replay:
        return _stored(scan)
