"""recount_checkins rebuilds the venue's counts too: exits, re-entries and the overflow area, per door and minute.

The counters the live scans kept are the reference: after they are wiped, the recount from the check-in
rows alone must give the same rally totals and the same arrival-minute rows.
"""

from __future__ import annotations

import sqlalchemy as sa

from rallies.database import atomic
from rallies.door.checkin import check_in
from rallies.door.exits import check_out
from rallies.extensions import db
from rallies.models import ArrivalMinute, Checkin, Rally
from rallies.rallies.counters import recount_checkins
from tests.factories import at_door, campaign_of, door_session, make_door, make_ticket, nonce
from tests.stored import stored_rally

RALLY_COUNTS = ("checked_in_people", "checked_in_rsvp_people", "walkin_people", "inside_people", "overflow_people")


def minute_rows(rally_id: int) -> set:
    return set(db.session.execute(
        sa.select(ArrivalMinute.door_id, ArrivalMinute.minute, ArrivalMinute.people, ArrivalMinute.walkins,
                  ArrivalMinute.exits, ArrivalMinute.reentries, ArrivalMinute.overflow)
        .where(ArrivalMinute.rally_id == rally_id)).all())


def counts(rally_id: int) -> tuple:
    rally = stored_rally(rally_id)
    return tuple(getattr(rally, name) for name in RALLY_COUNTS)


def test_recount_gives_back_inside_and_overflow_per_door(make_user):
    door = at_door(campaign_of(make_user()), capacity=None, max_guests=3, safe_capacity=2,
                   overflow_name="North lawn", overflow_capacity=10)
    south = door_session(make_door(door.rally, "South gate"), device="Phone 3")[0]
    east = door_session(make_door(door.rally, "East gate"), device="Phone 4")[0]
    _a, main = make_ticket(door.rally, guests=1)
    _b, lawn = make_ticket(door.rally, guests=2)
    assert check_in(main, door.scanner, nonce=nonce()).verdict == "admit"      # 2 inside the venue
    assert check_in(lawn, door.scanner, nonce=nonce()).verdict == "admit_overflow"  # 3 on the lawn
    check_out(lawn, south, nonce=nonce(), people=2)  # two leave the lawn by the south gate
    check_out(main, south, nonce=nonce(), people=1)  # one leaves the venue
    assert check_in(main, east, nonce=nonce()).verdict == "admit"  # and comes back by the east gate
    live = (counts(door.rally.id), minute_rows(door.rally.id))
    assert live[0] == (5, 5, 0, 2, 1)
    by_door = {}  # (people, walkins, exits, reentries, overflow) summed over the door's minutes
    for door_id, _minute, *figures in live[1]:
        by_door[door_id] = tuple(a + b for a, b in zip(by_door.get(door_id, (0,) * 5), figures, strict=True))
    assert by_door == {door.door.id: (5, 0, 0, 0, 3), south.door_id: (0, 0, 3, 0, -2),
                       east.door_id: (0, 0, 0, 1, 0)}

    with atomic():
        db.session.execute(sa.update(Rally).where(Rally.id == door.rally.id).values(
            **dict.fromkeys(RALLY_COUNTS, 0)))
        db.session.execute(sa.delete(ArrivalMinute).where(ArrivalMinute.rally_id == door.rally.id))
        recount_checkins(door.rally.id)
    assert (counts(door.rally.id), minute_rows(door.rally.id)) == live


def per_door(rally_id: int) -> dict:
    """(people, walkins, exits, reentries, overflow) of each door, summed over its minutes."""
    sums = {}
    for door_id, _minute, *figures in minute_rows(rally_id):
        sums[door_id] = tuple(a + b for a, b in zip(sums.get(door_id, (0,) * 5), figures, strict=True))
    return sums


def test_recount_adds_up_moves_at_one_door_in_one_minute(make_user):
    door = at_door(campaign_of(make_user()), capacity=None, max_guests=3, safe_capacity=1,
                   overflow_name="North lawn", overflow_capacity=10)
    _t, first = make_ticket(door.rally)
    _a, pair = make_ticket(door.rally, guests=1)
    _b, single = make_ticket(door.rally)
    assert check_in(first, door.scanner, nonce=nonce()).verdict == "admit"  # the venue is full
    assert check_in(pair, door.scanner, nonce=nonce()).verdict == "admit_overflow"
    assert check_in(single, door.scanner, nonce=nonce()).verdict == "admit_overflow"
    check_out(pair, door.scanner, nonce=nonce(), people=2)
    for _ in range(2):  # they come back one by one, to the lawn
        back = check_in(pair, door.scanner, nonce=nonce(), people=1)
        assert (back.verdict, back.flags["reentry"]) == ("admit_overflow", True)
    live = (counts(door.rally.id), per_door(door.rally.id))
    assert live[1] == {door.door.id: (4, 0, 2, 2, 3)}

    with atomic():  # every move in one minute: the recount must add them up, not keep the last
        db.session.execute(sa.update(Rally).where(Rally.id == door.rally.id).values(**dict.fromkeys(RALLY_COUNTS, 0)))
        db.session.execute(sa.delete(ArrivalMinute).where(ArrivalMinute.rally_id == door.rally.id))
        db.session.execute(sa.update(Checkin).where(Checkin.rally_id == door.rally.id)
                           .values(admitted_at=sa.select(sa.func.min(Checkin.admitted_at)).scalar_subquery()))
        recount_checkins(door.rally.id)
    assert len(minute_rows(door.rally.id)) == 1
    assert (counts(door.rally.id), per_door(door.rally.id)) == live
