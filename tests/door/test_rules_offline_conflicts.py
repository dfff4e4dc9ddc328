"""Offline conflicts with parties: what two devices admitted while offline is counted once, the excess flagged."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rallies.door.checkin import check_in
from rallies.models import utcnow
from tests.factories import at_door, campaign_of, door_session, make_ticket, nonce
from tests.stored import checkin_people, stored_rally, stored_rsvp


@pytest.fixture
def doors(make_user, make_rally):
    door = at_door(campaign_of(make_user()), capacity=None, max_guests=3)
    other, _secret, _link = door_session(door.door, device="Phone 3")
    return door, door.scanner, other


def upload(code, ctx, minutes_ago=3, **kw):
    """An admission the device decided offline; like the scanner, it says how many people it let in."""
    return check_in(code, ctx, nonce=nonce(), offline=True, online=False, device_verdict="admit",
                    client_time=utcnow() - timedelta(minutes=minutes_ago), **kw)


def test_two_devices_each_admit_a_party_of_three(doors):
    door, one, two = doors
    rsvp, code = make_ticket(door.rally, guests=2)
    first = upload(code, one, minutes_ago=4, people=3)
    second = upload(code, two, minutes_ago=3, people=3)
    assert (first.verdict, first.reason, first.admitted, first.flags["conflict"]) == ("admit", "offline_accepted",
                                                                                      3, False)
    assert (second.verdict, second.reason, second.admitted, second.flags["conflict"]) == ("admit", "offline_conflict",
                                                                                          0, True)
    assert second.previous is not None and second.previous["device"] == "Phone 1"
    assert stored_rsvp(rsvp.id).checked_in_people == 3
    r = stored_rally(door.rally.id)
    assert (r.checked_in_people, r.checked_in_rsvp_people) == (3, 3)
    assert checkin_people(door.rally.id) == 3


def test_overlapping_parts_count_up_to_the_party_and_flag_the_rest(doors):
    door, one, two = doors
    rsvp, code = make_ticket(door.rally, guests=2)
    first = upload(code, one, people=2)
    second = upload(code, two, people=3)
    assert (first.admitted, first.flags["conflict"]) == (2, False)
    assert (second.reason, second.admitted, second.flags["conflict"]) == ("offline_conflict", 1, True)
    assert stored_rsvp(rsvp.id).checked_in_people == 3
    assert stored_rally(door.rally.id).checked_in_people == 3


def test_parts_that_add_up_exactly_are_no_conflict(doors):
    door, one, two = doors
    rsvp, code = make_ticket(door.rally, guests=2)
    assert upload(code, one, people=1).flags["conflict"] is False
    second = upload(code, two, people=2)
    assert (second.reason, second.admitted, second.flags["conflict"]) == ("offline_accepted", 2, False)
    assert stored_rsvp(rsvp.id).checked_in_people == 3


def test_online_admission_then_an_offline_upload_of_the_same_party(doors):
    door, one, two = doors
    rsvp, code = make_ticket(door.rally, guests=2)
    assert check_in(code, one, nonce=nonce()).admitted == 3
    late = upload(code, two, people=3)
    assert (late.verdict, late.admitted, late.flags["conflict"]) == ("admit", 0, True)
    assert stored_rally(door.rally.id).checked_in_people == 3


def test_conflicts_are_logged_for_the_report(doors):
    import sqlalchemy as sa

    from rallies.extensions import db
    from rallies.models import ScanLog

    door, one, two = doors
    _rsvp, code = make_ticket(door.rally, guests=2)
    upload(code, one, people=3)
    upload(code, two, people=3)
    flagged = db.session.scalars(sa.select(ScanLog.people).where(ScanLog.rally_id == door.rally.id,
                                                                 ScanLog.conflict.is_(True))).all()
    assert flagged == [3]


def test_an_upload_without_a_count_takes_the_remaining_party(doors):
    door, one, _two = doors
    rsvp, code = make_ticket(door.rally, guests=2)
    assert check_in(code, one, nonce=nonce(), people=1).admitted == 1
    verdict = upload(code, one)
    assert (verdict.reason, verdict.admitted, verdict.flags["conflict"]) == ("offline_accepted", 2, False)
    assert stored_rsvp(rsvp.id).checked_in_people == 3
