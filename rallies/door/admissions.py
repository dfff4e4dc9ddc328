"""Door actions besides a scan: walk-ins, supervisor undo, and admitting only part of a party.

They share the guarantees of door.checkin: one transaction each, idempotent by client
nonce (ScanLog's unique (rally_id, nonce)), counters moved only by atomic UPDATEs.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from ..database import atomic
from ..extensions import db
from ..keys.link_secrets import new_page_token
from ..mail.addresses import canonical_email, normalise_email
from ..models import Checkin, Rsvp, ScanLog, utcnow
from ..models.door import DIRECTION_ENTRY, DIRECTION_EXIT
from ..rallies import counters
from ..rsvp.names import door_name, search_text
from ..rsvp.supporters import supporter_for
from .decision import decide, venue_full_verdict
from .doors import DoorContext
from .scan_input import admission_time, check_nonce, clock_flag, made_online
from .scan_record import Replay, insert_scan, refuse, stored_verdict
from .ticket_reads import ticket_row
from .verdicts import CheckinInputError, VenueFull, Verdict

rsvp_t, scan_t, checkin_t = Rsvp.__table__, ScanLog.__table__, Checkin.__table__

#: A scanner may reduce its own admission (only part of the party came) within this time.
REDUCE_WINDOW = timedelta(minutes=10)
#: Guests one walk-in may bring (a party of 11 at most).
MAX_WALKIN_GUESTS = 10
#: Walk-in people one device session may admit, so a stolen or careless link cannot fill the rally.
WALKINS_PER_DEVICE = 60


def _scan(ctx: DoorContext, nonce: str, client_time, offline=False, **extra) -> dict:
    received = utcnow()
    return {
        "rally_id": ctx.rally_id, "door_id": ctx.door_id, "session_id": ctx.session_id, "device_name": ctx.device_name,
        "nonce": check_nonce(nonce), "code": "", "forced": False, "offline": bool(offline),
        "clock_flagged": clock_flag(client_time, received, offline, ctx), "client_time": client_time,
        "received_at": received, **extra,
    }


def admit_walkin(ctx: DoorContext, *, name: str, nonce: str, email: str = "", postal_code: str = "", guests: int = 0,
                 client_time: datetime | None = None, offline: bool = False, online: bool | None = None) -> Verdict:
    """Create a walk-in RSVP and check the whole party in at once, within the organizer's walk-in places.

    Only inside the rally's door window; at most MAX_WALKIN_GUESTS guests per walk-in and
    WALKINS_PER_DEVICE people per device. Walk-ins take places from online RSVPs only up to the
    rally's walkin_limit (people); without one they fill only free places (any number when the
    rally has no capacity). A walk-in who gives an email becomes a campaign supporter.
    """
    name = " ".join((name or "").split())[:120]
    if not name:
        raise CheckinInputError("invalid_name", gettext("Enter the walk-in's name."))
    email = normalise_email(email)[:254] or None
    if email and ("@" not in email or " " in email):
        raise CheckinInputError("invalid_email", gettext("Enter a valid email, or leave it empty."))
    postal_code = (postal_code or "").strip()[:20]
    if isinstance(guests, bool) or not isinstance(guests, int) or not 0 <= guests <= MAX_WALKIN_GUESTS:
        raise CheckinInputError("invalid_guests", gettext("Guests must be a whole number from 0 to %(num)s.",
                                                          num=MAX_WALKIN_GUESTS))
    received = utcnow()
    offline = offline and not made_online(client_time, received, online)
    scan = _scan(ctx, nonce, client_time, offline)
    people = guests + 1
    admitted_at = admission_time(client_time, scan["received_at"], offline, scan["clock_flagged"])
    if not ctx.in_window(admitted_at):
        raise CheckinInputError("outside_door_window", gettext("Walk-ins are admitted only while the rally's doors are open."),
                                409)
    try:
        with atomic():
            if email:
                existing = db.session.scalar(
                    sa.select(rsvp_t.c.id).where(rsvp_t.c.rally_id == ctx.rally_id,
                                                 rsvp_t.c.email_key == canonical_email(email)))
                if existing:
                    raise CheckinInputError("already_registered", gettext(
                        "This email already has a ticket for this rally: search for it and admit it from there."), 409)
            if _device_walkins(ctx.session_id) + people > WALKINS_PER_DEVICE:
                raise CheckinInputError("device_walkin_limit", gettext(
                    "This device has admitted its %(num)s walk-ins. A supervisor or another device can admit more.",
                    num=WALKINS_PER_DEVICE), 409)
            # The walk-in's ticket, with no one admitted yet: the check-in decision admits the party.
            rsvp_id = db.session.execute(rsvp_t.insert().values(
                rally_id=ctx.rally_id, **new_page_token().columns(), name=name, email=email,
                email_key=canonical_email(email) if email else None, phone="",
                postal_code=postal_code, door_name=door_name(name), search_name=search_text(name),
                guests=guests, status="going", is_walkin=True, checked_in_people=0, changed_seq=0,
                status_at=scan["received_at"], created_at=scan["received_at"], updated_at=scan["received_at"],
            ).returning(rsvp_t.c.id)).scalar()
            scan["rsvp_id"] = rsvp_id
            flags = {"clock": scan["clock_flagged"], "offline": bool(offline), "forced": False, "conflict": False}
            verdict = decide(scan, ticket_row(rsvp_id), people, False, admitted_at, flags, offline, walkin=True)
            # The rally row again (already locked by the decision's counters): its WHERE decides whether
            # this walk-in may take places, after its own walk-in counter moved.
            places = counters.take_walkin_places(ctx.rally_id, people, guests)
            if places is None:
                raise CheckinInputError("walkin_limit", gettext(
                    "No walk-in places are left: the rally's places belong to people who RSVPed. The organizer can "
                    "allow more walk-ins."), 409)
            if email:  # after the rally row, as an online RSVP takes them (rally, then supporter)
                db.session.execute(rsvp_t.update().where(rsvp_t.c.id == rsvp_id).values(
                    supporter_id=supporter_for(ctx.campaign_id, email, name, "", postal_code)))
            verdict.extra.update(over_capacity=places.capacity is not None and places.going_people > places.capacity,
                                 capacity=places.capacity, going_people=places.going_people)
            db.session.execute(scan_t.update().where(scan_t.c.id == verdict.scan_id)
                               .values(response=json.dumps(verdict.to_dict())))
            return verdict
    except Replay:
        return stored_verdict(scan)
    except VenueFull:  # the walk-in's ticket rolled back with it: log the hold alone
        scan.pop("rsvp_id", None)
        return refuse(scan, venue_full_verdict(ctx.rally_id, ctx.door_id, {
            "clock": scan["clock_flagged"], "offline": bool(offline), "forced": False, "conflict": False}))
    except IntegrityError as exc:
        raise CheckinInputError("already_registered", gettext("This email already has a ticket for this rally."), 409) from exc


def _device_walkins(session_id: int | None) -> int:
    """Walk-in people this device session has admitted (undone ones released)."""
    if session_id is None:
        return 0
    return int(db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(checkin_t.c.people), 0))
        .select_from(checkin_t.join(scan_t, scan_t.c.id == checkin_t.c.scan_id))
        .where(scan_t.c.session_id == session_id, checkin_t.c.is_walkin.is_(True), checkin_t.c.undone_at.is_(None))
    ) or 0)


def undo_checkin(ctx: DoorContext, *, rsvp_id: int, reason: str, nonce: str, people: int | None = None) -> Verdict:
    """Supervisor: take back the ticket's latest admission (all of it, or `people` of it), with a reason."""
    if not ctx.is_supervisor:
        raise CheckinInputError("forbidden", gettext("Only a supervisor can undo a check-in."), 403)
    reason = " ".join((reason or "").split())[:200]
    if not reason:
        raise CheckinInputError("reason_required", gettext("Say why the check-in is undone."))
    if isinstance(rsvp_id, bool) or not isinstance(rsvp_id, int) or not 0 < rsvp_id < 2**31:
        raise CheckinInputError("invalid_ticket_id", gettext("That is not a ticket of this rally."))
    return _reverse(ctx, nonce, reason, people, sa.and_(checkin_t.c.rsvp_id == rsvp_id))


def reduce_admission(ctx: DoorContext, *, scan_id: int, keep: int, nonce: str) -> Verdict:
    """Scanner: only `keep` of the party just admitted came in now; the rest can be admitted later.

    Refused (party_moved) once people of the ticket went out or came back in after that scan.
    """
    if isinstance(scan_id, bool) or not isinstance(scan_id, int) or not 0 < scan_id < 2**63:
        raise CheckinInputError("invalid_scan_id", gettext("That is not a scan of this door."))
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise CheckinInputError("invalid_people", gettext("Keep at least 1 person (undo the whole check-in instead)."))
    since = utcnow() - REDUCE_WINDOW
    cond = sa.and_(checkin_t.c.scan_id == scan_id, checkin_t.c.admitted_at >= since)
    if not ctx.is_supervisor:
        cond = sa.and_(cond, scan_t.c.session_id == ctx.session_id)
    return _reverse(ctx, nonce, "part of party", None, cond, keep=keep)


def _release_walkin(rally_id: int, rsvp_id: int, take: int, seq: int, cancel: bool) -> None:
    """A walk-in's places exist only while its people are admitted: give back what an undo took back.

    The whole party undone cancels the walk-in RSVP; part of it shrinks the party.
    """
    if cancel:
        guests = db.session.execute(
            rsvp_t.update().where(rsvp_t.c.id == rsvp_id, rsvp_t.c.status == "going")
            .values(status="cancelled", status_at=utcnow(), changed_seq=seq).returning(rsvp_t.c.guests)).scalar()
        if guests is not None:
            counters.left_status(rally_id, "going", guests + 1)
        return
    db.session.execute(rsvp_t.update().where(rsvp_t.c.id == rsvp_id).values(guests=rsvp_t.c.guests - take,
                                                                                changed_seq=seq))
    counters.move_rsvp_counts(rally_id, going_people=-take, guests_count=-take)


def _reverse(ctx, nonce, reason, people, cond, keep=None) -> Verdict:
    """Reduce (or mark undone) one check-in row and move every counter back, idempotently."""
    scan = _scan(ctx, nonce, None, note=reason)
    try:
        with atomic():
            row = db.session.execute(
                sa.select(checkin_t.c.id, checkin_t.c.rsvp_id, checkin_t.c.people, checkin_t.c.door_id,
                          checkin_t.c.admitted_at, checkin_t.c.is_walkin, checkin_t.c.direction, checkin_t.c.reentry,
                          checkin_t.c.overflow_people)
                .select_from(checkin_t.outerjoin(scan_t, scan_t.c.id == checkin_t.c.scan_id))
                .where(cond, checkin_t.c.rally_id == ctx.rally_id, checkin_t.c.undone_at.is_(None))
                .order_by(checkin_t.c.id.desc()).limit(1).with_for_update(of=checkin_t)
            ).one_or_none()
            if row is None:
                verdict = Verdict("undo", "nothing_to_undo", flags={})
                insert_scan(scan, verdict)
                return verdict
            take = row.people - keep if keep is not None else min(people or row.people, row.people)
            if take <= 0:
                raise CheckinInputError("invalid_people", gettext("That is not fewer people than were admitted."))
            if row.rsvp_id is not None and _moved_since(row):
                raise CheckinInputError("party_moved", gettext(
                    "People of this party went out or came back in after this scan: undo those scans first."), 409)
            # The people of the row in the overflow area are taken last, as they were counted last.
            in_overflow = max(0, take - (row.people - row.overflow_people))
            new = db.session.execute(
                rsvp_t.update().where(rsvp_t.c.id == row.rsvp_id).values(**_ticket_moves(row, take, in_overflow))
                .returning(rsvp_t.c.checked_in_people, rsvp_t.c.guests, rsvp_t.c.door_name, rsvp_t.c.status)
            ).one_or_none()
            ticket = None
            if new is not None:
                ticket = {"id": row.rsvp_id, "name": new.door_name, "party": new.guests + 1,
                          "checked_in": new.checked_in_people, "remaining": new.guests + 1 - new.checked_in_people,
                          "status": new.status}
            verdict = Verdict("undo", "undone" if keep is None else "reduced", ticket=ticket, admitted=-take, flags={})
            scan["rsvp_id"] = row.rsvp_id
            insert_scan(scan, verdict, people=take)
            seq = counters.admitted(ctx.rally_id, row.door_id, row.admitted_at, **_counter_moves(row, take, in_overflow)
                                    ).change  # under the rally lock
            values = {"people": row.people - take, "changed_seq": seq, "overflow_people": row.overflow_people - in_overflow}
            if take == row.people:
                values.update(undone_at=scan["received_at"], undo_reason=reason, people=row.people,
                              overflow_people=row.overflow_people)
            db.session.execute(checkin_t.update().where(checkin_t.c.id == row.id).values(**values))
            if row.is_walkin and new is not None and row.direction == DIRECTION_ENTRY and not row.reentry:
                _release_walkin(ctx.rally_id, row.rsvp_id, take, seq, cancel=new.checked_in_people == 0)
            return verdict
    except Replay:
        return stored_verdict(scan)


def _moved_since(row) -> bool:
    """Whether people of the row's ticket went out or came back in after it (under the ticket's lock).

    Taking back part of an earlier row would then leave the later exits and re-entries counting
    people who, by the new figures, were never there (inside would go below entries minus exits).
    Undo takes the latest row first, so this only stops a reduce of an older scan.
    """
    db.session.execute(_LOCK_TICKET, {"ticket": row.rsvp_id})  # no exit or re-entry can be added meanwhile
    return db.session.execute(_LATER_MOVES, {"ticket": row.rsvp_id, "row": row.id}).first() is not None


_LOCK_TICKET = sa.select(rsvp_t.c.id).where(rsvp_t.c.id == sa.bindparam("ticket")).with_for_update()
_LATER_MOVES = (sa.select(checkin_t.c.id)
                .where(checkin_t.c.rsvp_id == sa.bindparam("ticket"), checkin_t.c.id > sa.bindparam("row"),
                       checkin_t.c.undone_at.is_(None),
                       sa.or_(checkin_t.c.direction == DIRECTION_EXIT, checkin_t.c.reentry.is_(True)))
                .limit(1))


def _floor(column, take):
    return sa.case((column >= take, column - take), else_=0)


def _ticket_moves(row, take: int, in_overflow: int) -> dict:
    """The ticket's columns moved back by undoing ``take`` people of a check-in row (entry, re-entry or exit)."""
    if row.direction == DIRECTION_EXIT:  # they are inside again
        return {"outside_people": _floor(rsvp_t.c.outside_people, take),
                "overflow_people": rsvp_t.c.overflow_people + in_overflow}
    back = {"overflow_people": _floor(rsvp_t.c.overflow_people, in_overflow)}
    if row.reentry:  # outside again
        return dict(back, outside_people=rsvp_t.c.outside_people + take)
    return dict(back, checked_in_people=_floor(rsvp_t.c.checked_in_people, take))


def _counter_moves(row, take: int, in_overflow: int) -> dict:
    """counters.admitted's arguments that take back ``take`` people of a check-in row (never held by venue full)."""
    if row.direction == DIRECTION_EXIT:
        return {"n": 0, "exits": -take, "overflow": in_overflow}
    if row.reentry:
        return {"n": 0, "reentries": -take, "overflow": -in_overflow}
    return {"n": -take, "walkins": -take if row.is_walkin else 0, "overflow": -in_overflow}
