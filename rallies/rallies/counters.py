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
        set_={name: minute_t.c[name] + stmt.excluded[name]
              for name in ("people", "walkins", "exits", "reentries", "overflow")})


# The check-in counters' other statements: values are bound parameters.
_MINUTE_TAKE = minute_t.update().where(
    minute_t.c.rally_id == sa.bindparam("rally"), minute_t.c.door_id.is_not_distinct_from(sa.bindparam("door")),
    minute_t.c.minute == sa.bindparam("at"),
).values(people=minute_t.c.people + sa.bindparam("n"), walkins=minute_t.c.walkins + sa.bindparam("w"),
         exits=minute_t.c.exits + sa.bindparam("e"), reentries=minute_t.c.reentries + sa.bindparam("r"),
         overflow=minute_t.c.overflow + sa.bindparam("o"))
_VENUE, _OVERFLOW = sa.bindparam("v", type_=sa.Integer), sa.bindparam("o", type_=sa.Integer)
_UNCHECKED = sa.not_(sa.bindparam("check", type_=sa.Boolean))
_RALLY_MOVES = {"checked_in_people": rally_t.c.checked_in_people + sa.bindparam("n"),
                "checked_in_rsvp_people": rally_t.c.checked_in_rsvp_people + sa.bindparam("rsvp_people"),
                "walkin_people": rally_t.c.walkin_people + sa.bindparam("w"),
                "inside_people": rally_t.c.inside_people + _VENUE,
                "overflow_people": rally_t.c.overflow_people + _OVERFLOW,
                "change_seq": rally_t.c.change_seq + 1}
#: The venue-full rule, in the same UPDATE that counts the people in (see checkin.py): people entering
#: the venue fit its safe capacity, people entering the overflow area fit an overflow area that exists.
_ROOM = sa.and_(
    sa.or_(_UNCHECKED, _VENUE <= 0, rally_t.c.safe_capacity.is_(None),
           rally_t.c.inside_people + _VENUE <= rally_t.c.safe_capacity),
    sa.or_(_OVERFLOW <= 0, _UNCHECKED,
           sa.and_(rally_t.c.overflow_name != "",
                   sa.or_(rally_t.c.overflow_capacity.is_(None),
                          rally_t.c.overflow_people + _OVERFLOW <= rally_t.c.overflow_capacity))))
#: The peak is the busiest minute over all doors, read after this admission's own upsert.
_BUSIEST = (sa.select(sa.func.sum(minute_t.c.people))
            .where(minute_t.c.rally_id == sa.bindparam("rally"), minute_t.c.minute == sa.bindparam("at"))
            .scalar_subquery())
_FULL = sa.case((sa.and_(rally_t.c.capacity.is_not(None), rally_t.c.checked_in_people >= rally_t.c.capacity), 1),
                else_=0)
_RETURNS = (_FULL, rally_t.c.change_seq, rally_t.c.inside_people, rally_t.c.overflow_people)
_RALLY_ADD = rally_t.update().where(rally_t.c.id == sa.bindparam("rally"), _ROOM).values(
    **_RALLY_MOVES, peak_rate_per_min=sa.case((rally_t.c.peak_rate_per_min < _BUSIEST, _BUSIEST),
                                              else_=rally_t.c.peak_rate_per_min),
).returning(*_RETURNS)
_RALLY_TAKE = (rally_t.update().where(rally_t.c.id == sa.bindparam("rally"), _ROOM).values(**_RALLY_MOVES)
               .returning(*_RETURNS))


class Admitted(NamedTuple):
    """What moving the check-in counters says: capacity reached (the door's warning), the change number,
    and the people inside now (venue and overflow area)."""

    at_capacity: bool
    change: int
    inside: int = 0
    overflow: int = 0
    #: People entering who were sent to the overflow area (the venue was full).
    overflow_in: int = 0


def admitted(rally_id: int, door_id: int | None, moment: datetime, n: int, walkins: int = 0, *, overflow: int = 0,
             exits: int = 0, reentries: int = 0, check: bool = False, spill: bool = False) -> Admitted | None:
    """Move every check-in counter: n people admitted (negative to undo), exits and re-entries, the door's
    minute, then the rally, whose people inside move by n + reentries - exits (``overflow`` of them in the
    overflow area).

    The rally's UPDATE also takes the change number the caller stamps its rows with (under the
    rally lock, see the module docstring), and says whether the people admitted now reach capacity.
    With ``check``, its WHERE is the venue-full rule: None (nothing moved on the rally) when the people
    entering do not fit the safe capacity, or the overflow area; the caller then rolls back. With ``spill``,
    people who do not fit the venue are counted in the overflow area instead, when it has room.
    """
    minute = minute_of(moment)
    if n > 0 or exits > 0 or reentries > 0:
        db.session.execute(_minute_upsert(), {"rally_id": rally_id, "door_id": door_id, "minute": minute, "people": n,
                                              "walkins": walkins, "exits": exits, "reentries": reentries,
                                              "overflow": overflow})
    else:
        db.session.execute(_MINUTE_TAKE, {"rally": rally_id, "door": door_id, "at": minute, "n": n, "w": walkins,
                                          "e": exits, "r": reentries, "o": overflow})
    moves = {"rally": rally_id, "n": n, "rsvp_people": n - walkins, "w": walkins,
             "v": n + reentries - exits - overflow, "o": overflow, "check": check}
    stmt, params = (_RALLY_ADD, dict(moves, at=minute)) if n > 0 else (_RALLY_TAKE, moves)
    row = db.session.execute(stmt, params).one_or_none()
    entering = n + reentries
    if row is None and spill and entering > 0:
        # Nothing moved: the same UPDATE again, with the people entering counted in the overflow area.
        row = db.session.execute(stmt, dict(params, v=params["v"] - entering, o=overflow + entering)).one_or_none()
        if row is None:
            return None
        # The minute's row is ours already (upserted above): it counts them in the overflow area too.
        db.session.execute(_MINUTE_TAKE, {"rally": rally_id, "door": door_id, "at": minute, "n": 0, "w": 0, "e": 0,
                                          "r": 0, "o": entering})
        return Admitted(bool(row[0]), row[1], row[2], row[3], entering)
    return None if row is None else Admitted(bool(row[0]), row[1], row[2], row[3])


def door_totals(rally_id: int, door_id: int | None = None):
    """Each door's (id, name, lanes, checked_in_people, walkin_people, inside_people), the totals summed from
    its arrival minutes (by the (rally_id, door_id, minute) index), in name order; one door's row when door_id
    is given. A door's inside_people is its net flow (entries and re-entries minus exits through it): people
    who came in at one door and left by another make it differ from where they are."""
    query = (sa.select(door_t.c.id, door_t.c.name, door_t.c.lanes,
                       sa.func.coalesce(sa.func.sum(minute_t.c.people), 0).label("checked_in_people"),
                       sa.func.coalesce(sa.func.sum(minute_t.c.walkins), 0).label("walkin_people"),
                       sa.func.coalesce(sa.func.sum(minute_t.c.people + minute_t.c.reentries - minute_t.c.exits), 0)
                       .label("inside_people"))
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
        sa.select(Checkin.door_id, Checkin.admitted_at, Checkin.people, Checkin.is_walkin, Checkin.direction,
                  Checkin.reentry, Checkin.overflow_people)
        .where(Checkin.rally_id == rally_id, Checkin.undone_at.is_(None))
    ).all()
    people, walkins, exits, reentries, overflows = Counter(), Counter(), Counter(), Counter(), Counter()
    for door_id, at, n, is_walkin, direction, reentry, in_overflow in rows:
        key = (door_id, minute_of(at))
        if direction == "exit":
            exits[key] += n
            overflows[key] -= in_overflow
            continue
        overflows[key] += in_overflow
        if reentry:
            reentries[key] += n
            continue
        people[key] += n
        if is_walkin:
            walkins[key] += n
    db.session.execute(minute_t.delete().where(minute_t.c.rally_id == rally_id))
    keys = set(people) | set(exits) | set(reentries) | set(overflows)
    overflow = sum(overflows.values())
    if keys:
        db.session.execute(minute_t.insert(), [
            {"rally_id": rally_id, "door_id": door_id, "minute": minute, "people": people[(door_id, minute)],
             "walkins": walkins[(door_id, minute)], "exits": exits[(door_id, minute)],
             "reentries": reentries[(door_id, minute)], "overflow": overflows[(door_id, minute)]}
            for door_id, minute in sorted(keys, key=lambda k: (k[1], k[0] or 0))])
    per_minute: Counter = Counter()
    for (_door, minute), n in people.items():
        per_minute[minute] += n
    total, walkin_total = sum(people.values()), sum(walkins.values())
    inside = total + sum(reentries.values()) - sum(exits.values())
    db.session.execute(rally_t.update().where(rally_t.c.id == rally_id).values(
        checked_in_people=total, checked_in_rsvp_people=total - walkin_total, walkin_people=walkin_total,
        peak_rate_per_min=max(per_minute.values(), default=0), inside_people=inside - overflow,
        overflow_people=overflow))
