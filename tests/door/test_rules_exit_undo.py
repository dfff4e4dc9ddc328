"""Taking back admissions after people went out: reduce and undo keep every figure equal to entries minus exits."""

from __future__ import annotations

import pytest

from rallies.database import atomic
from rallies.door.admissions import reduce_admission, undo_checkin
from rallies.door.checkin import check_in
from rallies.door.exits import check_out
from rallies.door.verdicts import CheckinInputError
from rallies.rallies.counters import recount_checkins
from tests.factories import at_door, campaign_of, door_session, make_ticket, nonce
from tests.stored import inside_from_rows, stored_rally, stored_rsvp
from tests.web import door_post


@pytest.fixture
def door(make_user):
    return at_door(campaign_of(make_user()), capacity=None, max_guests=5)


def figures(door, rsvp) -> tuple[int, int, int]:
    """(rally inside, ticket checked in, ticket outside), after checking they agree with the rows and a recount."""
    rally, ticket = stored_rally(door.rally.id), stored_rsvp(rsvp.id)
    assert 0 <= ticket.outside_people <= ticket.checked_in_people <= ticket.guests + 1
    inside = rally.inside_people + rally.overflow_people
    assert inside == inside_from_rows(door.rally.id) == ticket.checked_in_people - ticket.outside_people
    stored = (rally.inside_people, rally.overflow_people, rally.checked_in_people)
    with atomic():
        recount_checkins(door.rally.id)
    rally = stored_rally(door.rally.id)
    assert (rally.inside_people, rally.overflow_people, rally.checked_in_people) == stored
    return inside, ticket.checked_in_people, ticket.outside_people


def test_reducing_an_admission_after_some_left_is_refused_and_counts_nothing(door):
    rsvp, code = make_ticket(door.rally, guests=2)
    admitted = check_in(code, door.scanner, nonce=nonce())
    check_out(code, door.scanner, nonce=nonce(), people=2)
    key = nonce()
    with pytest.raises(CheckinInputError) as err:
        reduce_admission(door.supervisor, scan_id=admitted.scan_id, keep=1, nonce=key)
    assert (err.value.code, err.value.status) == ("party_moved", 409)
    assert figures(door, rsvp) == (1, 3, 2)
    # A supervisor undoes the exit first (they are inside again); the same request then goes through.
    undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="exit scanned by mistake", nonce=nonce())
    assert figures(door, rsvp) == (3, 3, 0)
    reduced = reduce_admission(door.supervisor, scan_id=admitted.scan_id, keep=1, nonce=key)
    assert (reduced.reason, reduced.admitted) == ("reduced", -2)
    assert figures(door, rsvp) == (1, 1, 0)


def test_a_scanner_cannot_reduce_its_scan_once_people_of_it_left(door):
    rsvp, code = make_ticket(door.rally, guests=2)
    admitted = check_in(code, door.scanner, nonce=nonce())
    check_out(code, door.scanner, nonce=nonce(), people=1)
    with pytest.raises(CheckinInputError) as err:
        reduce_admission(door.scanner, scan_id=admitted.scan_id, keep=1, nonce=nonce())
    assert err.value.code == "party_moved"
    assert figures(door, rsvp) == (2, 3, 1)


def test_reducing_an_exit_after_they_came_back_is_refused(door):
    rsvp, code = make_ticket(door.rally, guests=1)
    check_in(code, door.scanner, nonce=nonce())
    left = check_out(code, door.scanner, nonce=nonce())
    assert check_in(code, door.scanner, nonce=nonce()).reason == "reentry"
    with pytest.raises(CheckinInputError) as err:
        reduce_admission(door.supervisor, scan_id=left.scan_id, keep=1, nonce=nonce())
    assert err.value.code == "party_moved"
    assert figures(door, rsvp) == (2, 2, 0)


def test_reducing_a_reentry_after_they_left_again_is_refused(door):
    rsvp, code = make_ticket(door.rally, guests=1)
    check_in(code, door.scanner, nonce=nonce())
    check_out(code, door.scanner, nonce=nonce())
    back = check_in(code, door.scanner, nonce=nonce())
    check_out(code, door.scanner, nonce=nonce())
    with pytest.raises(CheckinInputError) as err:
        reduce_admission(door.supervisor, scan_id=back.scan_id, keep=1, nonce=nonce())
    assert err.value.code == "party_moved"
    assert figures(door, rsvp) == (0, 2, 2)


def test_reduce_still_works_after_later_entries_and_earlier_exits(door):
    rsvp, code = make_ticket(door.rally, guests=3)
    check_in(code, door.scanner, nonce=nonce(), people=1)
    check_out(code, door.scanner, nonce=nonce())
    rest = check_in(code, door.scanner, nonce=nonce(), people=2)  # the rest of the party: first entries
    check_in(code, door.scanner, nonce=nonce(), people=1)
    assert figures(door, rsvp) == (3, 4, 1)
    assert reduce_admission(door.scanner, scan_id=rest.scan_id, keep=1, nonce=nonce()).admitted == -1
    assert figures(door, rsvp) == (2, 3, 1)


def test_undo_takes_back_the_exit_before_the_entry_whose_people_left(door):
    rsvp, code = make_ticket(door.rally, guests=2)
    check_in(code, door.scanner, nonce=nonce())
    check_out(code, door.scanner, nonce=nonce(), people=2)
    first = undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="mistake", nonce=nonce())
    assert first.reason == "undone" and figures(door, rsvp) == (3, 3, 0)  # back inside, not taken out twice
    undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="wrong ticket", nonce=nonce())
    assert figures(door, rsvp) == (0, 0, 0)


def test_undo_part_of_an_exit_puts_only_those_back_inside(door):
    rsvp, code = make_ticket(door.rally, guests=2)
    check_in(code, door.scanner, nonce=nonce())
    check_out(code, door.scanner, nonce=nonce(), people=2)
    undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="one stayed", nonce=nonce(), people=1)
    assert figures(door, rsvp) == (2, 3, 1)
    undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="the other too", nonce=nonce(), people=5)
    assert figures(door, rsvp) == (3, 3, 0)
    undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="x", nonce=nonce(), people=1)
    assert figures(door, rsvp) == (2, 2, 0)


def test_the_api_answers_a_reduce_after_an_exit_with_409_party_moved(client, make_user):
    door = at_door(campaign_of(make_user()), capacity=None, max_guests=5)
    _ctx, secret, _link = door_session(door.door, device="Phone 5")
    rsvp, code = make_ticket(door.rally, guests=2)
    scan = door_post(client, door.door.id, "checkin", {"code": code, "nonce": nonce()}, secret).get_json()["scan_id"]
    door_post(client, door.door.id, "checkin", {"code": code, "nonce": nonce(), "direction": "exit", "people": 2},
              secret)
    refused = door_post(client, door.door.id, "reduce", {"scan_id": scan, "keep": 1, "nonce": nonce()}, secret)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "party_moved"
    assert figures(door, rsvp) == (1, 3, 2)
