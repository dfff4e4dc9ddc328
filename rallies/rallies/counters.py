"""Every move of a Rally or ArrivalMinute counter, and nothing else.

RSVPs (places taken, waitlist joined, cancellations, promotions, guest changes), check-ins,
undo, walk-ins and ``recount`` all call these functions, inside the caller's transaction.
Counters move by ``x = x + :n`` UPDATEs (or an upsert for an arrival minute), never by a value
read in Python, so concurrent writers cannot lose each other's moves. A door's totals are not a
counter of their own: they are the sums of its arrival minutes (``door_totals``).

Lock order. An UPDATE of the rally row holds that row's lock until commit (PostgreSQL; SQLite
serialises writers with BEGIN IMMEDIATE). Callers that also lock an RSVP row lock it first, and
take the rally row last (check-in: ticket, scan log, minute, rally), so two transactions
never wait on each other in opposite orders.

Door-sync change numbers are a counter on the rally row too (``Rally.change_seq``): taking one
is an UPDATE of that row, so it holds the rally lock until commit, and per rally the numbers
follow the order of commits (door/sync.py explains why that matters). A check-in or undo takes
its number in the same UPDATE that moves the rally's check-in counters.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa

from ..database import insert
from ..extensions import db
from ..models import RSVP_CANCELLED, RSVP_GOING, RSVP_WAITLISTED, ArrivalMinute, Checkin, Door, Rally, Rsvp

rally_t, door_t, minute_t = Rally.__table__, Door.__table__, ArrivalMinute.__table__


_NEXT_CHANGE = (rally_t.update().where(rally_t.c.id == sa.bindparam("rally"))
                .values(change_seq=rally_t.c.change_seq + 1).returning(rally_t.c.change_seq))


def next_change_number(rally_id: int) -> int:
    """A new door-sync change number for the rally, from its row (which stays locked until commit)."""
    return db.session.execute(_NEXT_CHANGE, {"rally": rally_id}).scalar_one()


def lock_rally(rally_id: int) -> None:
    """Take the rally's row lock (a no-op UPDATE) before changing its RSVPs."""
    db.session.execute(rally_t.update().where(rally_t.c.id == rally_id).values(going_people=rally_t.c.going_people))


def take_places(rally_id: int, people: int, guests: int, parties: int = 1) -> bool:
    """Add people to 'going' only if they fit the capacity; the conditional UPDATE's rowcount is the answer."""
    fits = sa.or_(rally_t.c.capacity.is_(None), rally_t.c.going_people + people <= rally_t.c.capacity)
    result = db.session.execute(
        rally_t.update().where(rally_t.c.id == rally_id, fits)
        .values(going_people=rally_t.c.going_people + people, going_parties=rally_t.c.going_parties + parties,
                guests_count=rally_t.c.guests_count + guests))
    return result.rowcount == 1


def take_walkin_places(rally_id: int, people: int, guests: int):
    """Walk-in places: within the rally's walkin_limit (people), or without one only free places.

    The door's walk-in counter has already moved for this walk-in (``admitted``), so the limit is
    checked against it. Returns (capacity, going_people) after the move, or None when refused.
    """
    fits = sa.case(
        (rally_t.c.walkin_limit.is_not(None), rally_t.c.walkin_people <= rally_t.c.walkin_limit),
        else_=sa.or_(rally_t.c.capacity.is_(None), rally_t.c.going_people + people <= rally_t.c.capacity))
    return db.session.execute(
        rally_t.update().where(rally_t.c.id == rally_id, fits)
        .values(going_people=rally_t.c.going_people + people, going_parties=rally_t.c.going_parties + 1,
                guests_count=rally_t.c.guests_count + guests)
        .returning(rally_t.c.capacity, rally_t.c.going_people)).one_or_none()


def move_rsvp_counts(rally_id: int, **deltas: int) -> None:
    """Add deltas to the rally's RSVP counters (going_people, waitlisted_parties, cancelled_parties ...)."""
    values = {name: rally_t.c[name] + n for name, n in deltas.items() if n}
    if values:
        db.session.execute(rally_t.update().where(rally_t.c.id == rally_id).values(**values))


def left_status(rally_id: int, status: str, people: int) -> None:
    """A party of ``people`` leaves ``status`` (going or waitlisted) for cancelled."""
    if status == RSVP_GOING:
        move_rsvp_counts(rally_id, going_people=-people, going_parties=-1, guests_count=-(people - 1),
                         cancelled_parties=1)
    elif status == RSVP_WAITLISTED:
        move_rsvp_counts(rally_id, waitlisted_people=-people, waitlisted_parties=-1, cancelled_parties=1)
    else:  # unconfirmed: it held no place
        move_rsvp_counts(rally_id, cancelled_parties=1)


def minute_of(moment: datetime) -> datetime:
    """The UTC minute a moment falls in (the ArrivalMinute key)."""
    return moment.replace(second=0, microsecond=0)


def _minute_upsert():
    """Add to the door's arrival minute, creating it on its first admission."""
    stmt = insert(minute_t)
    return stmt.on_conflict_do_update(
        index_elements=["rally_id", "door_id", "minute"],
        set_={"people": minute_t.c.people + stmt.excluded.people, "walkins": minute_t.c.walkins + stmt.excluded.walkins})


# The check-in counters' other statements: values are bound parameters.
_MINUTE_TAKE = minute_t.update().where(
    minute_t.c.rally_id == sa.bindparam("rally"), minute_t.c.door_id.is_not_distinct_from(sa.bindparam("door")),
    minute_t.c.minute == sa.bindparam("at"),
).values(people=minute_t.c.people + sa.bindparam("n"), walkins=minute_t.c.walkins + sa.bindparam("w"))
_RALLY_MOVES = {"checked_in_people": rally_t.c.checked_in_people + sa.bindparam("n"),
                "checked_in_rsvp_people": rally_t.c.checked_in_rsvp_people + sa.bindparam("rsvp_people"),
                "walkin_people": rally_t.c.walkin_people + sa.bindparam("w"),
                "change_seq": rally_t.c.change_seq + 1}
#: The peak is the busiest minute over all doors, read after this admission's own upsert.
_BUSIEST = (sa.select(sa.func.sum(minute_t.c.people))
            .where(minute_t.c.rally_id == sa.bindparam("rally"), minute_t.c.minute == sa.bindparam("at"))
            .scalar_subquery())
_FULL = sa.case((sa.and_(rally_t.c.capacity.is_not(None), rally_t.c.checked_in_people >= rally_t.c.capacity), 1),
                else_=0)
_RALLY_ADD = rally_t.update().where(rally_t.c.id == sa.bindparam("rally")).values(
    **_RALLY_MOVES, peak_rate_per_min=sa.case((rally_t.c.peak_rate_per_min < _BUSIEST, _BUSIEST),
                                              else_=rally_t.c.peak_rate_per_min),
).returning(_FULL, rally_t.c.change_seq)
_RALLY_TAKE = (rally_t.update().where(rally_t.c.id == sa.bindparam("rally")).values(**_RALLY_MOVES)
               .returning(_FULL, rally_t.c.change_seq))


class Admitted(NamedTuple):
    """What moving the check-in counters says: capacity reached (the door's warning), and the change number."""

    at_capacity: bool
    change: int


def admitted(rally_id: int, door_id: int | None, moment: datetime, n: int, walkins: int = 0) -> Admitted:
    """Move every check-in counter by n people (negative to undo): the door's arrival minute, then the rally.

    The rally's UPDATE also takes the change number the caller stamps its rows with (under the
    rally lock, see the module docstring), and says whether the people admitted now reach capacity.
    """
    minute = minute_of(moment)
    if n > 0:
        db.session.execute(_minute_upsert(), {"rally_id": rally_id, "door_id": door_id, "minute": minute, "people": n,
                                           "walkins": walkins})
    else:
        db.session.execute(_MINUTE_TAKE, {"rally": rally_id, "door": door_id, "at": minute, "n": n, "w": walkins})
    rsvp_people = n - walkins
    moves = {"rally": rally_id, "n": n, "rsvp_people": rsvp_people, "w": walkins}
    row = db.session.execute(_RALLY_ADD if n > 0 else _RALLY_TAKE, dict(moves, at=minute) if n > 0 else moves).one()
    return Admitted(bool(row[0]), row[1])


def door_totals(rally_id: int, door_id: int | None = None):
    """Each door's (id, name, lanes, checked_in_people, walkin_people), the totals summed from its arrival
    minutes (by the (rally_id, door_id, minute) index), in name order; one door's row when door_id is given."""
    query = (sa.select(door_t.c.id, door_t.c.name, door_t.c.lanes,
                       sa.func.coalesce(sa.func.sum(minute_t.c.people), 0).label("checked_in_people"),
                       sa.func.coalesce(sa.func.sum(minute_t.c.walkins), 0).label("walkin_people"))
             .outerjoin(minute_t, sa.and_(minute_t.c.rally_id == door_t.c.rally_id, minute_t.c.door_id == door_t.c.id))
             .where(door_t.c.rally_id == rally_id)
             .group_by(door_t.c.id, door_t.c.name, door_t.c.lanes).order_by(door_t.c.name, door_t.c.id))
    if door_id is not None:
        query = query.where(door_t.c.id == door_id)
    return db.session.execute(query).all()


def recount(rally_id: int) -> None:
    """Recompute a rally's RSVP counters from its RSVPs (repair tool and demo loader)."""
    rows = db.session.execute(
        sa.select(Rsvp.status, sa.func.count(), sa.func.coalesce(sa.func.sum(Rsvp.guests), 0))
        .where(Rsvp.rally_id == rally_id).group_by(Rsvp.status)
    ).all()
    by = {status: (int(n), int(g)) for status, n, g in rows}
    going, going_guests = by.get(RSVP_GOING, (0, 0))
    wait, wait_guests = by.get(RSVP_WAITLISTED, (0, 0))
    cancelled, _ = by.get(RSVP_CANCELLED, (0, 0))
    db.session.execute(rally_t.update().where(rally_t.c.id == rally_id).values(
        going_people=going + going_guests, going_parties=going, guests_count=going_guests,
        waitlisted_people=wait + wait_guests, waitlisted_parties=wait, cancelled_parties=cancelled,
    ))


def recount_checkins(rally_id: int) -> None:
    """Rebuild a rally's check-in counters and arrival minutes from its check-ins (repair tool and demo loader)."""
    rows = db.session.execute(
        sa.select(Checkin.door_id, Checkin.admitted_at, Checkin.people, Checkin.is_walkin)
        .where(Checkin.rally_id == rally_id, Checkin.undone_at.is_(None))
    ).all()
    people, walkins = Counter(), Counter()
    for door_id, at, n, is_walkin in rows:
        people[(door_id, minute_of(at))] += n
        if is_walkin:
            walkins[(door_id, minute_of(at))] += n
    db.session.execute(minute_t.delete().where(minute_t.c.rally_id == rally_id))
    if people:
        db.session.execute(minute_t.insert(), [
            {"rally_id": rally_id, "door_id": door_id, "minute": minute, "people": n, "walkins": walkins[(door_id, minute)]}
            for (door_id, minute), n in sorted(people.items(), key=lambda kv: (kv[0][1], kv[0][0] or 0))])
    per_minute: Counter = Counter()
    for (_door, minute), n in people.items():
        per_minute[minute] += n
    total, walkin_total = sum(people.values()), sum(walkins.values())
    db.session.execute(rally_t.update().where(rally_t.c.id == rally_id).values(
        checked_in_people=total, checked_in_rsvp_people=total - walkin_total, walkin_people=walkin_total,
        peak_rate_per_min=max(per_minute.values(), default=0)))
