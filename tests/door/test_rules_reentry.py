"""Re-entry after an exit (door/decision.py _reenter): what a door answers and what it counts.

Online, a rally that allows no re-entry refuses, and nobody may come back in beyond those who left.
Offline, the device already let them in: the upload counts them, flagged as a conflict when the rally
allows no re-entry or more came back than had left.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from rallies.database import atomic
from rallies.door.checkin import check_in
from rallies.door.exits import check_out
from rallies.extensions import db
from rallies.models import Rally, ScanLog, utcnow
from tests.factories import at_door, campaign_of, make_ticket, nonce
from tests.stored import stored_rally, stored_rsvp


@pytest.fixture
def door(make_user):
    return at_door(campaign_of(make_user()), capacity=None, max_guests=3)


def no_reentry(rally) -> None:
    with atomic():
        db.session.execute(sa.update(Rally).where(Rally.id == rally.id).values(reentry_allowed=False))


def party_left(door, guests: int, left: int):
    """A party of guests + 1, all admitted, of whom ``left`` went out."""
    rsvp, code = make_ticket(door.rally, guests=guests, name="Sam Smith")
    check_in(code, door.scanner, nonce=nonce())
    check_out(code, door.scanner, nonce=nonce(), people=left)
    return rsvp, code


def upload(code, ctx, **kw):
    return check_in(code, ctx, nonce=nonce(), offline=True, online=False, device_verdict="admit",
                    client_time=utcnow() - timedelta(minutes=2), **kw)


def last_scan() -> ScanLog:
    return db.session.scalars(sa.select(ScanLog).order_by(ScanLog.id.desc()).limit(1)).one()


def inside(door) -> int:
    return stored_rally(door.rally.id).inside_people


def test_a_refused_reentry_shows_the_ticket_and_its_last_admission(door):
    no_reentry(door.rally)
    rsvp, code = party_left(door, guests=1, left=2)
    refused = check_in(code, door.scanner, nonce=nonce())
    assert (refused.verdict, refused.reason, refused.admitted) == ("no_reentry", "reentry_not_allowed", 0)
    assert refused.ticket == {"id": rsvp.id, "name": "Sam S.", "party": 2, "checked_in": 2, "remaining": 0,
                              "status": "going"}
    assert (refused.previous["door"], refused.previous["device"]) == ("North gate", "Phone 1")
    assert refused.flags["conflict"] is False and refused.flags["offline"] is False
    assert (last_scan().verdict, last_scan().reason) == ("no_reentry", "reentry_not_allowed")
    assert inside(door) == 0


def test_more_coming_back_than_left_is_refused_online(door):
    rsvp, code = party_left(door, guests=2, left=1)
    refused = check_in(code, door.scanner, nonce=nonce(), people=2)
    assert (refused.verdict, refused.reason, refused.admitted) == ("already", "party_exceeded", 0)
    assert refused.ticket["id"] == rsvp.id and refused.ticket["party"] == 3
    assert refused.previous["door"] == "North gate"
    assert (refused.flags["offline"], refused.flags["conflict"]) == (False, False)
    assert (last_scan().verdict, last_scan().reason) == ("already", "party_exceeded")
    assert (inside(door), stored_rsvp(rsvp.id).outside_people) == (2, 1)
    back = check_in(code, door.scanner, nonce=nonce(), people=1)
    assert (back.verdict, back.reason, back.admitted) == ("admit", "reentry", 1)
    assert back.flags["reentry"] is True and back.flags["conflict"] is False
    assert (inside(door), stored_rsvp(rsvp.id).outside_people) == (3, 0)


def test_a_whole_party_scan_brings_back_everyone_outside(door):
    rsvp, code = party_left(door, guests=2, left=2)
    back = check_in(code, door.scanner, nonce=nonce())
    assert (back.verdict, back.admitted, back.ticket["checked_in"]) == ("admit", 2, 3)
    assert (inside(door), stored_rsvp(rsvp.id).outside_people) == (3, 0)


def test_an_offline_reentry_within_those_who_left_is_counted_without_a_flag(door):
    rsvp, code = party_left(door, guests=1, left=2)
    back = upload(code, door.scanner, people=2)
    assert (back.verdict, back.reason, back.admitted) == ("admit", "offline_reentry", 2)
    assert (back.flags["conflict"], back.flags["reentry"], back.flags["offline"]) == (False, True, True)
    assert (last_scan().reason, last_scan().conflict, last_scan().people) == ("offline_reentry", False, 2)
    assert inside(door) == 2 and stored_rally(door.rally.id).checked_in_people == 2


def test_an_offline_reentry_the_rally_forbids_is_counted_and_flagged(door):
    no_reentry(door.rally)
    rsvp, code = party_left(door, guests=1, left=1)
    back = upload(code, door.scanner, people=1)
    assert (back.verdict, back.reason, back.admitted) == ("admit", "offline_reentry", 1)
    assert back.flags["conflict"] is True and back.flags["reentry"] is True
    assert (last_scan().verdict, last_scan().conflict) == ("admit", True)
    assert inside(door) == 2 and stored_rsvp(rsvp.id).outside_people == 0


def test_an_offline_reentry_of_more_than_left_counts_those_who_left_and_is_flagged(door):
    rsvp, code = party_left(door, guests=2, left=1)
    back = upload(code, door.scanner, people=3)
    assert (back.verdict, back.admitted, back.flags["conflict"]) == ("admit", 1, True)
    assert (last_scan().conflict, last_scan().people) == (True, 3)
    assert inside(door) == 3 and stored_rsvp(rsvp.id).outside_people == 0


def full_venue(make_user, **fields):
    """A venue for 2 that is full: a party of 2 inside, of whom one went out."""
    door = at_door(campaign_of(make_user()), capacity=None, max_guests=3, safe_capacity=2, **fields)
    rsvp, code = make_ticket(door.rally, guests=1)
    check_in(code, door.scanner, nonce=nonce())
    check_out(code, door.scanner, nonce=nonce(), people=1)
    _b, other = make_ticket(door.rally)
    assert check_in(other, door.scanner, nonce=nonce()).verdict == "admit"  # the venue is full again
    return door, rsvp, code


def test_an_online_reentry_to_a_full_venue_is_held(make_user):
    door, rsvp, code = full_venue(make_user)
    held = check_in(code, door.scanner, nonce=nonce())
    assert (held.verdict, held.admitted) == ("venue_full", 0)
    assert (stored_rsvp(rsvp.id).outside_people, inside(door)) == (1, 2)


def test_a_reentry_to_a_full_venue_goes_to_the_overflow_area(make_user):
    door, rsvp, code = full_venue(make_user, overflow_name="Lawn", overflow_capacity=5)
    back = check_in(code, door.scanner, nonce=nonce())
    assert (back.verdict, back.admitted, back.flags["reentry"]) == ("admit_overflow", 1, True)
    assert (stored_rsvp(rsvp.id).outside_people, stored_rsvp(rsvp.id).overflow_people) == (0, 1)
    rally = stored_rally(door.rally.id)
    assert (rally.inside_people, rally.overflow_people) == (2, 1)


def test_an_uploaded_reentry_to_a_full_venue_is_counted(make_user):
    door, rsvp, code = full_venue(make_user)
    back = upload(code, door.scanner, people=1)
    assert (back.verdict, back.reason, back.admitted) == ("admit", "offline_reentry", 1)
    assert (stored_rsvp(rsvp.id).outside_people, inside(door)) == (0, 3)


def test_an_uploaded_reentry_sent_to_the_overflow_area_counts_there(make_user):
    door, rsvp, code = full_venue(make_user, overflow_name="Lawn", overflow_capacity=5)
    back = check_in(code, door.scanner, nonce=nonce(), offline=True, online=False, device_verdict="admit_overflow",
                    client_time=utcnow() - timedelta(minutes=1))
    assert (back.verdict, back.admitted) == ("admit_overflow", 1)
    assert stored_rsvp(rsvp.id).overflow_people == 1
    assert (stored_rally(door.rally.id).inside_people, stored_rally(door.rally.id).overflow_people) == (2, 1)
