"""Venue full at every door (issue 14): hold at the safe capacity, the overflow area, overrides, exits reopen."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from rallies.door.admissions import admit_walkin, undo_checkin
from rallies.door.checkin import check_in
from rallies.door.exits import check_out
from rallies.door.verdicts import CheckinInputError
from rallies.extensions import db
from rallies.models import Checkin, ScanLog, utcnow
from tests.factories import at_door, campaign_of, door_session, make_door, make_ticket, nonce
from tests.stored import inside_from_rows, stored_rally, stored_rsvp
from tests.web import door_post


@pytest.fixture
def venue(make_user):
    """A rally whose venue holds 3 people, with two doors."""
    door = at_door(campaign_of(make_user()), capacity=None, max_guests=3, safe_capacity=3)
    south = make_door(door.rally, "South gate")
    return door, door_session(south, device="Phone 3")[0]


def test_full_venue_holds_the_next_entry_at_every_door(venue):
    door, south = venue
    _a, party = make_ticket(door.rally, guests=2)
    assert check_in(party, door.scanner, nonce=nonce()).admitted == 3
    rsvp, code = make_ticket(door.rally)
    for ctx in (door.scanner, south):
        held = check_in(code, ctx, nonce=nonce())
        assert (held.verdict, held.reason, held.admitted, held.message) == ("venue_full", "venue_full", 0,
                                                                            "VENUE FULL: HOLD")
        assert held.extra["inside"]["rally"] == 3 and held.extra["inside"]["safe_capacity"] == 3
    assert stored_rsvp(rsvp.id).checked_in_people == 0
    rally = stored_rally(door.rally.id)
    assert (rally.inside_people, rally.checked_in_people, rally.peak_rate_per_min) == (3, 3, 3)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Checkin)) == 1  # the hold wrote no check-in
    verdicts = db.session.scalars(sa.select(ScanLog.verdict).order_by(ScanLog.id)).all()
    assert verdicts == ["admit", "venue_full", "venue_full"]


def test_a_party_that_does_not_fit_is_held_whole(venue):
    door, _south = venue
    _a, one = make_ticket(door.rally)
    check_in(one, door.scanner, nonce=nonce())
    _b, three = make_ticket(door.rally, guests=2)
    assert check_in(three, door.scanner, nonce=nonce()).verdict == "venue_full"
    assert check_in(three, door.scanner, nonce=nonce(), people=2).admitted == 2  # two of them fit
    assert stored_rally(door.rally.id).inside_people == 3


def test_exits_bring_the_count_down_and_doors_admit_again(venue):
    door, south = venue
    _a, party = make_ticket(door.rally, guests=2)
    check_in(party, door.scanner, nonce=nonce())
    _b, code = make_ticket(door.rally)
    assert check_in(code, south, nonce=nonce()).verdict == "venue_full"
    check_out(party, south, nonce=nonce(), people=1)
    assert check_in(code, south, nonce=nonce()).verdict == "admit"
    assert stored_rally(door.rally.id).inside_people == 3
    # A re-entry is an entry too: the one who left is held now.
    assert check_in(party, door.scanner, nonce=nonce()).verdict == "venue_full"


def test_walkins_are_held_too_and_leave_no_ticket(venue):
    door, _south = venue
    _a, party = make_ticket(door.rally, guests=2)
    check_in(party, door.scanner, nonce=nonce())
    held = admit_walkin(door.scanner, name="Late Comer", nonce=nonce())
    assert held.verdict == "venue_full" and held.ticket is None
    rally = stored_rally(door.rally.id)
    assert (rally.inside_people, rally.walkin_people, rally.going_people) == (3, 0, 0)


def test_supervisor_override_needs_a_reason_and_is_logged(venue):
    door, _south = venue
    _a, party = make_ticket(door.rally, guests=2)
    check_in(party, door.scanner, nonce=nonce())
    _b, code = make_ticket(door.rally)
    with pytest.raises(CheckinInputError) as err:
        check_in(code, door.scanner, nonce=nonce(), force=True, override_reason="I say so")
    assert err.value.code == "forbidden"
    assert check_in(code, door.supervisor, nonce=nonce(), force=True).verdict == "venue_full"  # no reason, no override
    forced = check_in(code, door.supervisor, nonce=nonce(), force=True, override_reason="  fire marshal  agreed ")
    assert forced.verdict == "admit" and forced.admitted == 1
    assert stored_rally(door.rally.id).inside_people == 4
    scan = db.session.scalar(sa.select(ScanLog).where(ScanLog.id == forced.scan_id))
    assert (scan.forced, scan.note, scan.device_name) == (True, "fire marshal agreed", "Phone 2")


def test_offline_uploads_are_never_held(venue, client):
    door, _south = venue
    _a, party = make_ticket(door.rally, guests=2)
    check_in(party, door.scanner, nonce=nonce())
    _ctx, secret, _link = door_session(door.door, device="Phone 7")
    _b, code = make_ticket(door.rally)
    then = int((utcnow() - timedelta(minutes=15)).timestamp() * 1000)
    body = door_post(client, door.door.id, "upload",
                     {"scans": [{"code": code, "nonce": nonce(), "client_time": then, "offline": True}]},
                     secret).get_json()
    assert body["results"][0]["verdict"] == "admit" and body["inside"] == {
        "rally": 4, "safe_capacity": 3, "full": True, "overflow": None, "door": 4}


def test_overflow_area_takes_people_up_to_its_own_limit(make_user):
    door = at_door(campaign_of(make_user()), capacity=None, max_guests=3, safe_capacity=2,
                   overflow_name="North lawn", overflow_capacity=2)
    _a, first = make_ticket(door.rally, guests=1)
    assert check_in(first, door.scanner, nonce=nonce()).verdict == "admit"
    rsvp, second = make_ticket(door.rally)
    spilled = check_in(second, door.scanner, nonce=nonce())
    assert (spilled.verdict, spilled.reason, spilled.message, spilled.admitted) == (
        "admit_overflow", "venue_full", "ADMIT TO OVERFLOW", 1)
    replay_key = nonce()
    _c, third = make_ticket(door.rally)
    assert check_in(third, door.scanner, nonce=replay_key).verdict == "admit_overflow"
    assert check_in(third, door.scanner, nonce=replay_key).verdict == "admit_overflow"  # the stored answer
    _d, fourth = make_ticket(door.rally)
    held = check_in(fourth, door.scanner, nonce=nonce())
    assert held.verdict == "venue_full" and held.extra["inside"]["overflow"] == {
        "name": "North lawn", "inside": 2, "capacity": 2}
    rally = stored_rally(door.rally.id)
    assert (rally.inside_people, rally.overflow_people, rally.checked_in_people) == (2, 2, 4)
    assert stored_rsvp(rsvp.id).overflow_people == 1
    # Someone leaving the overflow area makes room there, not in the venue.
    check_out(second, door.scanner, nonce=nonce())
    rally = stored_rally(door.rally.id)
    assert (rally.inside_people, rally.overflow_people) == (2, 1)
    assert check_in(fourth, door.scanner, nonce=nonce()).verdict == "admit_overflow"
    # Undoing an overflow admission gives its place back to the overflow area.
    undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="left for good", nonce=nonce())  # undoes the exit
    undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="wrong ticket", nonce=nonce())  # then the entry
    rally = stored_rally(door.rally.id)
    assert (rally.inside_people, rally.overflow_people) == (2, 2)
    assert inside_from_rows(door.rally.id) == 4


def test_no_safe_capacity_means_no_hold(make_user):
    door = at_door(campaign_of(make_user()), capacity=None, max_guests=3)
    for _ in range(3):
        _r, code = make_ticket(door.rally, guests=3)
        assert check_in(code, door.scanner, nonce=nonce()).verdict == "admit"
    assert stored_rally(door.rally.id).inside_people == 12


def test_offline_door_decisions_upload_as_made(client, make_user):
    """An offline door that held someone records a hold; one that sent them to overflow counts them there."""
    door = at_door(campaign_of(make_user()), capacity=None, safe_capacity=100, overflow_name="Lawn")
    _ctx, secret, _link = door_session(door.door, device="Phone 7")
    (_a, held), (b, spilled) = make_ticket(door.rally), make_ticket(door.rally)
    then = int((utcnow() - timedelta(minutes=15)).timestamp() * 1000)
    scans = [{"code": held, "nonce": nonce(), "client_time": then, "offline": True, "device_verdict": "venue_full"},
             {"code": spilled, "nonce": nonce(), "client_time": then, "offline": True,
              "device_verdict": "admit_overflow"}]
    body = door_post(client, door.door.id, "upload", {"scans": scans}, secret).get_json()
    assert [(r["verdict"], r["reason"], r["admitted"]) for r in body["results"]] == [
        ("venue_full", "offline_refused", 0), ("admit_overflow", "venue_full", 1)]
    assert body["inside"]["rally"] == 0 and body["inside"]["overflow"] == {"name": "Lawn", "inside": 1, "capacity": None}
    assert stored_rsvp(b.id).overflow_people == 1


def test_the_capacity_warning_comes_with_the_admission_that_reaches_it(make_user):
    """at_capacity: checked-in people reached the RSVP capacity, in the venue or in the overflow area."""
    campaign = campaign_of(make_user())
    hall = at_door(campaign, capacity=2)
    first, second = make_ticket(hall.rally)[1], make_ticket(hall.rally)[1]
    assert check_in(first, hall.scanner, nonce=nonce()).extra["at_capacity"] is False
    assert check_in(second, hall.scanner, nonce=nonce()).extra["at_capacity"] is True
    park = at_door(campaign, capacity=3, safe_capacity=1, overflow_name="Lawn", overflow_capacity=5)
    answers = [check_in(make_ticket(park.rally)[1], park.scanner, nonce=nonce()) for _ in range(3)]
    assert [(a.verdict, a.extra["at_capacity"]) for a in answers] == [
        ("admit", False), ("admit_overflow", False), ("admit_overflow", True)]
    last = db.session.scalars(sa.select(Checkin).order_by(Checkin.id.desc()).limit(1)).one()
    assert last.changed_seq == stored_rally(park.rally.id).change_seq  # the number the counters handed out
