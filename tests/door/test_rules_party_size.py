"""Party size: admit part of a party, the rest later, never more than the party."""

from __future__ import annotations

import pytest

from rallies.door.checkin import check_in
from rallies.door.verdicts import CheckinInputError
from tests.factories import at_door, campaign_of, make_ticket, nonce
from tests.stored import checkin_people, stored_rally, stored_rsvp


@pytest.fixture
def door(make_user, make_rally):
    return at_door(campaign_of(make_user()), capacity=None, max_guests=3)


def test_partial_admits_then_the_rest(door):
    rsvp, code = make_ticket(door.rally, guests=3)
    first = check_in(code, door.scanner, nonce=nonce(), people=1)
    assert (first.verdict, first.admitted, first.ticket["checked_in"], first.ticket["remaining"]) == ("admit", 1, 1, 3)
    second = check_in(code, door.scanner, nonce=nonce(), people=2)
    assert (second.admitted, second.ticket["checked_in"], second.ticket["remaining"]) == (2, 3, 1)
    rest = check_in(code, door.scanner, nonce=nonce())
    assert (rest.verdict, rest.admitted, rest.ticket["remaining"]) == ("admit", 1, 0)
    again = check_in(code, door.scanner, nonce=nonce())
    assert (again.verdict, again.reason, again.admitted) == ("already", "already_checked_in", 0)
    assert again.previous is not None and again.previous["door"] == "North gate"
    assert stored_rsvp(rsvp.id).checked_in_people == 4
    assert stored_rally(door.rally.id).checked_in_people == 4
    assert checkin_people(door.rally.id) == 4


def test_asking_for_more_than_remain_is_refused_whole(door):
    rsvp, code = make_ticket(door.rally, guests=2)
    check_in(code, door.scanner, nonce=nonce(), people=2)
    verdict = check_in(code, door.scanner, nonce=nonce(), people=2)
    assert (verdict.verdict, verdict.reason, verdict.admitted) == ("already", "party_exceeded", 0)
    assert verdict.ticket["remaining"] == 1
    assert stored_rsvp(rsvp.id).checked_in_people == 2
    exact = check_in(code, door.scanner, nonce=nonce(), people=1)
    assert (exact.verdict, exact.admitted) == ("admit", 1)
    assert stored_rsvp(rsvp.id).checked_in_people == 3


def test_more_than_the_whole_party_at_once_is_refused(door):
    rsvp, code = make_ticket(door.rally, guests=1)
    verdict = check_in(code, door.scanner, nonce=nonce(), people=3)
    assert (verdict.verdict, verdict.reason) == ("already", "party_exceeded")
    assert stored_rsvp(rsvp.id).checked_in_people == 0


def test_whole_party_by_default(door):
    rsvp, code = make_ticket(door.rally, guests=3)
    verdict = check_in(code, door.scanner, nonce=nonce())
    assert (verdict.admitted, verdict.ticket["party"], verdict.ticket["remaining"]) == (4, 4, 0)
    r = stored_rally(door.rally.id)
    assert (r.checked_in_people, r.checked_in_rsvp_people, r.peak_rate_per_min) == (4, 4, 4)
    assert stored_rally(door.rally.id).checked_in_people == 4


@pytest.mark.parametrize("people", [0, -1, 101, True, 1.5, "2"])
def test_people_must_be_a_sensible_count(door, people):
    rsvp, code = make_ticket(door.rally)
    with pytest.raises(CheckinInputError):
        check_in(code, door.scanner, nonce=nonce(), people=people)
    assert stored_rsvp(rsvp.id).checked_in_people == 0
