"""Undo and reduce in the overflow area: the places go back where they were counted.

After every undo or reduce, the live counters must equal a recount from the check-in rows
(counters.recount_checkins), and the ticket's own overflow figure must match its rows.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from rallies.database import atomic
from rallies.door.admissions import reduce_admission, undo_checkin
from rallies.door.checkin import check_in
from rallies.door.exits import check_out
from rallies.extensions import db
from rallies.models import ArrivalMinute, Checkin
from rallies.rallies.counters import recount_checkins
from tests.factories import at_door, campaign_of, make_ticket, nonce
from tests.stored import stored_rally, stored_rsvp


@pytest.fixture
def venue(make_user):
    """One place in the venue, ten on the lawn; the venue is full."""
    door = at_door(campaign_of(make_user()), capacity=None, max_guests=3, safe_capacity=1,
                   overflow_name="North lawn", overflow_capacity=10)
    _a, first = make_ticket(door.rally)
    assert check_in(first, door.scanner, nonce=nonce()).verdict == "admit"
    return door


def snapshot(rally_id: int) -> tuple:
    rally = stored_rally(rally_id)
    minutes = db.session.execute(
        sa.select(ArrivalMinute.door_id, ArrivalMinute.minute, ArrivalMinute.people, ArrivalMinute.exits,
                  ArrivalMinute.reentries, ArrivalMinute.overflow)
        .where(ArrivalMinute.rally_id == rally_id, sa.or_(
            ArrivalMinute.people != 0, ArrivalMinute.exits != 0, ArrivalMinute.reentries != 0,
            ArrivalMinute.overflow != 0))).all()
    return (rally.checked_in_people, rally.inside_people, rally.overflow_people), sorted(minutes)


def assert_counters_match_rows(rally_id: int) -> tuple:
    live = snapshot(rally_id)
    with atomic():
        recount_checkins(rally_id)
    assert snapshot(rally_id) == live
    return live[0]


def rows(rsvp_id: int) -> list[tuple]:
    db.session.expire_all()
    return [(r.direction, r.people, r.overflow_people, r.undone_at is not None) for r in db.session.scalars(
        sa.select(Checkin).where(Checkin.rsvp_id == rsvp_id).order_by(Checkin.id))]


def test_reducing_an_overflow_admission_frees_lawn_places(venue):
    rsvp, code = make_ticket(venue.rally, guests=2)
    spilled = check_in(code, venue.scanner, nonce=nonce())
    assert (spilled.verdict, spilled.admitted) == ("admit_overflow", 3)
    reduced = reduce_admission(venue.scanner, scan_id=spilled.scan_id, keep=1, nonce=nonce())
    assert (reduced.reason, reduced.admitted, reduced.ticket["checked_in"]) == ("reduced", -2, 1)
    assert reduced.flags == {}
    assert rows(rsvp.id) == [("entry", 1, 1, False)]
    assert stored_rsvp(rsvp.id).overflow_people == 1
    assert assert_counters_match_rows(venue.rally.id) == (2, 1, 1)  # admitted, in the venue, on the lawn


def test_undoing_an_overflow_admission_empties_the_lawn(venue):
    rsvp, code = make_ticket(venue.rally, guests=1)
    check_in(code, venue.scanner, nonce=nonce())
    undone = undo_checkin(venue.supervisor, rsvp_id=rsvp.id, reason="wrong ticket", nonce=nonce())
    assert (undone.reason, undone.admitted) == ("undone", -2)
    assert rows(rsvp.id) == [("entry", 2, 2, True)]  # an undone row keeps what it was
    assert stored_rsvp(rsvp.id).overflow_people == 0
    assert assert_counters_match_rows(venue.rally.id) == (1, 1, 0)


def test_undoing_an_exit_from_the_lawn_puts_them_back_on_the_lawn(venue):
    rsvp, code = make_ticket(venue.rally, guests=2)
    check_in(code, venue.scanner, nonce=nonce())
    check_out(code, venue.scanner, nonce=nonce(), people=2)
    assert stored_rsvp(rsvp.id).overflow_people == 1
    undo_checkin(venue.supervisor, rsvp_id=rsvp.id, reason="scanned in Exit mode", nonce=nonce())
    assert (stored_rsvp(rsvp.id).overflow_people, stored_rsvp(rsvp.id).outside_people) == (3, 0)
    assert assert_counters_match_rows(venue.rally.id) == (4, 1, 3)


def test_undoing_a_reentry_to_the_lawn_takes_them_off_it(venue):
    rsvp, code = make_ticket(venue.rally, guests=1)
    check_in(code, venue.scanner, nonce=nonce())
    check_out(code, venue.scanner, nonce=nonce(), people=1)
    back = check_in(code, venue.scanner, nonce=nonce())
    assert (back.verdict, back.admitted) == ("admit_overflow", 1)
    assert stored_rsvp(rsvp.id).overflow_people == 2
    undo_checkin(venue.supervisor, rsvp_id=rsvp.id, reason="mistake", nonce=nonce())
    assert (stored_rsvp(rsvp.id).overflow_people, stored_rsvp(rsvp.id).outside_people) == (1, 1)
    assert stored_rsvp(rsvp.id).checked_in_people == 2  # a re-entry undone is not an arrival undone
    assert assert_counters_match_rows(venue.rally.id) == (3, 1, 1)


def test_undo_with_nothing_to_undo_says_so(venue):
    rsvp, _code = make_ticket(venue.rally)
    nothing = undo_checkin(venue.supervisor, rsvp_id=rsvp.id, reason="mistake", nonce=nonce())
    assert (nothing.verdict, nothing.reason, nothing.flags) == ("undo", "nothing_to_undo", {})
