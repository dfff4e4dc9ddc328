"""Admission and its status: only a going ticket is admitted, online or from an offline upload."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rallies.door.checkin import check_in
from rallies.door.scan_input import CLOCK_SKEW, made_online
from rallies.door.verdicts import CheckinInputError
from rallies.models import utcnow
from tests.factories import at_door, campaign_of, make_ticket, nonce
from tests.stored import checkin_people, scan_count, stored_rally, stored_rsvp


@pytest.fixture
def door(make_user, make_rally):
    return at_door(campaign_of(make_user()), capacity=None, max_guests=3)


def upload(code, ctx, **kw):
    """An offline scan the device admitted, uploaded later."""
    return check_in(code, ctx, nonce=nonce(), offline=True, online=False, device_verdict="admit",
                    client_time=utcnow() - timedelta(minutes=2), **kw)


def test_going_ticket_is_admitted_and_counted(door):
    rsvp, code = make_ticket(door.rally, guests=1)
    verdict = check_in(code, door.scanner, nonce=nonce())
    assert (verdict.verdict, verdict.reason, verdict.admitted) == ("admit", "ok", 2)
    assert verdict.ticket == {"id": rsvp.id, "name": "Ana L.", "party": 2, "checked_in": 2, "remaining": 0,
                              "status": "going"}
    assert stored_rsvp(rsvp.id).checked_in_people == 2
    r = stored_rally(door.rally.id)
    assert (r.checked_in_people, r.checked_in_rsvp_people, r.walkin_people) == (2, 2, 0)
    assert checkin_people(door.rally.id) == 2


@pytest.mark.parametrize("status", ["cancelled", "waitlisted", "unconfirmed"])
def test_not_going_is_refused_online(door, status):
    rsvp, code = make_ticket(door.rally, status=status)
    verdict = check_in(code, door.scanner, nonce=nonce())
    assert verdict.verdict != "admit" and verdict.admitted == 0
    if status != "unconfirmed":
        assert (verdict.verdict, verdict.reason) == (status, f"ticket_{status}")
    assert stored_rsvp(rsvp.id).checked_in_people == 0
    assert stored_rally(door.rally.id).checked_in_people == 0
    assert checkin_people(door.rally.id) == 0
    assert scan_count(door.rally.id) == 1  # the refusal is logged


@pytest.mark.parametrize("status", ["cancelled", "waitlisted", "unconfirmed"])
def test_not_going_counts_no_one_from_an_upload(door, status):
    rsvp, code = make_ticket(door.rally, guests=2, status=status)
    verdict = upload(code, door.scanner)
    assert verdict.admitted == 0
    if status != "unconfirmed":
        assert (verdict.verdict, verdict.reason) == (status, "offline_override")
        assert verdict.flags["conflict"] is True and verdict.flags["override"] is True
    assert stored_rsvp(rsvp.id).checked_in_people == 0
    r = stored_rally(door.rally.id)
    assert (r.checked_in_people, r.checked_in_rsvp_people) == (0, 0)
    assert checkin_people(door.rally.id) == 0


def test_an_upload_made_online_gets_the_online_verdict(door):
    rsvp, code = make_ticket(door.rally, status="cancelled")
    verdict = check_in(code, door.scanner, nonce=nonce(), offline=True, online=True, device_verdict="admit",
                       client_time=utcnow())
    assert (verdict.verdict, verdict.reason) == ("cancelled", "ticket_cancelled")
    assert verdict.flags["offline"] is False


def test_supervisor_may_force_a_refused_ticket_in(door):
    rsvp, code = make_ticket(door.rally, status="waitlisted")
    with pytest.raises(CheckinInputError):
        check_in(code, door.scanner, nonce=nonce(), force=True)
    verdict = check_in(code, door.supervisor, nonce=nonce(), force=True)
    assert (verdict.verdict, verdict.reason, verdict.admitted) == ("admit", "forced", 1)
    assert stored_rsvp(rsvp.id).checked_in_people == 1


def test_forcing_a_going_ticket_never_admits_beyond_its_party(door):
    rsvp, code = make_ticket(door.rally, guests=1)
    assert check_in(code, door.scanner, nonce=nonce()).admitted == 2
    verdict = check_in(code, door.supervisor, nonce=nonce(), force=True)
    assert verdict.verdict == "already" and verdict.admitted == 0
    assert stored_rsvp(rsvp.id).checked_in_people == 2


def test_an_offline_refusal_is_recorded_not_admitted(door):
    rsvp, code = make_ticket(door.rally)
    verdict = check_in(code, door.scanner, nonce=nonce(), offline=True, online=False, device_verdict="already",
                       client_time=utcnow() - timedelta(minutes=2))
    assert (verdict.verdict, verdict.reason, verdict.admitted) == ("already", "offline_refused", 0)
    assert stored_rsvp(rsvp.id).checked_in_people == 0


def test_name_search_admit_by_ticket_id_uses_the_same_rules(door, make_rally):
    going, _ = make_ticket(door.rally, guests=1)
    cancelled, _ = make_ticket(door.rally, status="cancelled")
    verdict = check_in(None, door.scanner, nonce=nonce(), ticket_id=going.id)
    assert (verdict.verdict, verdict.admitted) == ("admit", 2)
    assert check_in(None, door.scanner, nonce=nonce(), ticket_id=going.id).verdict == "already"
    assert check_in(None, door.scanner, nonce=nonce(), ticket_id=cancelled.id).verdict == "cancelled"
    other = make_rally(stored_rally(door.rally.id).campaign)
    stranger, _ = make_ticket(other)
    verdict = check_in(None, door.scanner, nonce=nonce(), ticket_id=stranger.id)
    assert (verdict.verdict, verdict.reason) == ("invalid", "unknown_ticket")
    assert stored_rsvp(stranger.id).checked_in_people == 0


def test_an_unflagged_upload_is_online_up_to_the_clock_skew_and_no_further():
    received = utcnow()
    assert made_online(received - CLOCK_SKEW, received) is True
    assert made_online(received + CLOCK_SKEW, received) is True
    assert made_online(received - CLOCK_SKEW - timedelta(microseconds=1), received) is False
    assert made_online(None, received) is False
