"""Bad door requests are refused with a 4xx: a stable code, the HTTP status, and a sentence for staff.

Walk-ins, supervisor undo and reduce validate their input before touching anything; the door
app shows ``message`` as it is, so it must be a readable sentence about the problem.
"""

from __future__ import annotations

import pytest

from rallies.door.admissions import admit_walkin, reduce_admission, undo_checkin
from rallies.door.checkin import check_in
from rallies.door.verdicts import CheckinInputError
from tests.factories import at_door, campaign_of, make_ticket, nonce
from tests.stored import stored_rally


@pytest.fixture
def door(make_user, make_rally):
    return at_door(campaign_of(make_user()), capacity=None, max_guests=5)


def refused(call, code: str, status: int, word: str) -> None:
    with pytest.raises(CheckinInputError) as err:
        call()
    e = err.value
    assert (e.code, e.status) == (code, status)
    assert isinstance(e.message, str) and e.message[:1].isupper() and e.message.endswith(".")
    assert e.message != e.message.upper() and word in e.message.lower()


@pytest.mark.parametrize("name", ["", "   ", None])
def test_a_walkin_needs_a_name(door, name):
    refused(lambda: admit_walkin(door.scanner, name=name, nonce=nonce()), "invalid_name", 422, "name")
    assert stored_rally(door.rally.id).checked_in_people == 0


@pytest.mark.parametrize("email", ["nobody", "ana maria@example.org", "ana @example.org"])
def test_a_walkin_email_must_look_like_one(door, email):
    refused(lambda: admit_walkin(door.scanner, name="Ana", email=email, nonce=nonce()), "invalid_email", 422,
            "email")


def test_only_a_supervisor_undoes(door):
    rsvp, code = make_ticket(door.rally)
    check_in(code, door.scanner, nonce=nonce())
    refused(lambda: undo_checkin(door.scanner, rsvp_id=rsvp.id, reason="mistake", nonce=nonce()), "forbidden",
            403, "supervisor")
    assert stored_rally(door.rally.id).checked_in_people == 1


@pytest.mark.parametrize("reason", ["", "  ", None])
def test_an_undo_says_why(door, reason):
    rsvp, code = make_ticket(door.rally)
    check_in(code, door.scanner, nonce=nonce())
    refused(lambda: undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason=reason, nonce=nonce()),
            "reason_required", 422, "why")
    assert stored_rally(door.rally.id).checked_in_people == 1


def test_bad_ids_and_counts_are_refused_readably(door):
    rsvp, code = make_ticket(door.rally, guests=1)
    scan_id = check_in(code, door.scanner, nonce=nonce()).scan_id
    refused(lambda: undo_checkin(door.supervisor, rsvp_id=0, reason="x", nonce=nonce()), "invalid_ticket_id", 422,
            "ticket")
    refused(lambda: reduce_admission(door.scanner, scan_id=0, keep=1, nonce=nonce()), "invalid_scan_id", 422, "scan")
    refused(lambda: reduce_admission(door.scanner, scan_id=scan_id, keep=0, nonce=nonce()), "invalid_people", 422,
            "keep")
    refused(lambda: reduce_admission(door.scanner, scan_id=scan_id, keep=2, nonce=nonce()), "invalid_people", 422,
            "fewer")
    assert stored_rally(door.rally.id).checked_in_people == 2


def test_ids_far_above_small_numbers_are_valid_ids(door):
    """Large ids are ids like any other (not of this rally here): nothing to undo, not a bad request."""
    assert undo_checkin(door.supervisor, rsvp_id=2**31 - 1, reason="x", nonce=nonce()).reason == "nothing_to_undo"
    assert undo_checkin(door.supervisor, rsvp_id=1000, reason="x", nonce=nonce()).reason == "nothing_to_undo"
    assert reduce_admission(door.scanner, scan_id=2**63 - 1, keep=1, nonce=nonce()).reason == "nothing_to_undo"
    assert reduce_admission(door.scanner, scan_id=1000, keep=1, nonce=nonce()).reason == "nothing_to_undo"
