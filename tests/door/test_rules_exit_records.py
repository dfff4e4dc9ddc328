"""What an exit scan answers and writes (door/exits.py): the verdict, the scan log, the exit row, the counters.

test_rules_exits.py proves the counting; this file pins every field a door, a report or a recount reads
back: who left, how many, when (an offline exit at the device's time), through which door and device,
and from which area.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from rallies.door.checkin import check_in
from rallies.door.exits import check_out
from rallies.extensions import db
from rallies.models import ArrivalMinute, Checkin, ScanLog, utcnow
from rallies.rallies.counters import door_totals
from tests.factories import at_door, campaign_of, door_session, make_door, make_ticket, nonce
from tests.stored import stored_rally, stored_rsvp


@pytest.fixture
def door(make_user):
    return at_door(campaign_of(make_user()), capacity=None, max_guests=3)


def last_scan() -> ScanLog:
    return db.session.scalars(sa.select(ScanLog).order_by(ScanLog.id.desc()).limit(1)).one()


def exit_rows() -> list[Checkin]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Checkin).where(Checkin.direction == "exit").order_by(Checkin.id)))


def test_an_online_exit_answers_and_records_every_field(door):
    rsvp, code = make_ticket(door.rally, guests=2, name="Sam Smith")
    entry = check_in(code, door.scanner, nonce=nonce())
    out = check_out(code, door.scanner, nonce=nonce(), people=1)
    assert (out.verdict, out.reason, out.admitted, out.extra["left"]) == ("exit", "ok", 0, 1)
    assert out.ticket == {"id": rsvp.id, "name": "Sam S.", "party": 3, "checked_in": 3, "remaining": 0,
                          "status": "going", "inside": 2}
    assert (out.flags["conflict"], out.flags["offline"]) == (False, False)
    scan = last_scan()
    assert (scan.verdict, scan.reason, scan.rsvp_id, scan.people, scan.offline, scan.conflict) == (
        "exit", "ok", rsvp.id, 1, False, False)
    assert scan.code == code  # what was scanned, as the scan log shows it
    [row] = exit_rows()
    assert (row.rsvp_id, row.door_id, row.scan_id, row.device_name, row.people) == (
        rsvp.id, door.door.id, scan.id, "Phone 1", 1)
    assert (row.is_walkin, row.reentry, row.undo_reason, row.overflow_people, row.undone_at) == (
        False, False, "", 0, None)
    entry_row = db.session.scalars(sa.select(Checkin).where(Checkin.direction == "entry")).one()
    assert row.changed_seq > entry_row.changed_seq > 0
    assert row.admitted_at >= entry_row.admitted_at
    assert entry.scan_id != scan.id


def test_a_single_person_leaving_is_no_conflict(door):
    _rsvp, code = make_ticket(door.rally)
    check_in(code, door.scanner, nonce=nonce())
    out = check_out(code, door.scanner, nonce=nonce())
    assert (out.reason, out.extra["left"], out.flags["conflict"], out.ticket["inside"]) == ("ok", 1, False, 0)
    assert (last_scan().people, last_scan().conflict) == (1, False)


def test_a_whole_party_exit_takes_only_those_still_inside(door):
    rsvp, code = make_ticket(door.rally, guests=2)
    check_in(code, door.scanner, nonce=nonce())
    check_out(code, door.scanner, nonce=nonce(), people=1)
    out = check_out(code, door.scanner, nonce=nonce())  # no count given: everyone still inside
    assert (out.reason, out.extra["left"], out.ticket["inside"]) == ("ok", 2, 0)
    assert stored_rsvp(rsvp.id).outside_people == 3


def test_more_leaving_than_inside_is_flagged_and_counts_those_inside(door):
    rsvp, code = make_ticket(door.rally, guests=2)
    check_in(code, door.scanner, nonce=nonce(), people=2)
    out = check_out(code, door.scanner, nonce=nonce(), people=3)
    assert (out.verdict, out.reason, out.extra["left"], out.flags["conflict"]) == (
        "exit", "exit_exceeds_inside", 2, True)
    assert out.ticket["inside"] == 0 and out.ticket["checked_in"] == 2
    assert (last_scan().people, last_scan().conflict, last_scan().reason) == (3, True, "exit_exceeds_inside")
    assert [r.people for r in exit_rows()] == [2]
    assert stored_rally(door.rally.id).inside_people == 0


def test_an_exit_without_an_entry_shows_the_ticket_and_logs_what_was_asked(door):
    rsvp, code = make_ticket(door.rally, guests=1, name="Sam Smith")
    out = check_out(code, door.scanner, nonce=nonce(), people=2)
    assert out.ticket == {"id": rsvp.id, "name": "Sam S.", "party": 2, "checked_in": 0, "remaining": 2,
                          "status": "going", "inside": 0}
    assert (out.flags["conflict"], out.flags["unknown_entry"], out.flags["offline"]) == (True, True, False)
    assert (last_scan().people, last_scan().rsvp_id, last_scan().conflict) == (2, rsvp.id, True)
    assert exit_rows() == []


def test_an_offline_exit_is_recorded_at_the_devices_time(door):
    rsvp, code = make_ticket(door.rally)
    check_in(code, door.scanner, nonce=nonce())
    left = utcnow() - timedelta(minutes=3)
    received = utcnow()
    out = check_out(code, door.scanner, nonce=nonce(), offline=True, online=False, client_time=left,
                    received_at=received)
    assert (out.verdict, out.flags["offline"]) == ("exit", True)
    scan = last_scan()
    assert (scan.offline, scan.client_time, scan.received_at) == (True, left, received)
    assert exit_rows()[0].admitted_at == left


def test_an_exit_picked_by_name_leaves_that_ticket(door):
    rsvp, code = make_ticket(door.rally)
    check_in(code, door.scanner, nonce=nonce())
    out = check_out(None, door.scanner, nonce=nonce(), ticket_id=rsvp.id)
    assert (out.verdict, out.extra["left"], out.ticket["id"]) == ("exit", 1, rsvp.id)
    assert stored_rsvp(rsvp.id).outside_people == 1


def test_a_forged_exit_says_online(door):
    out = check_out("RT1.not-a-ticket", door.scanner, nonce=nonce())
    assert out.verdict == "invalid" and out.flags["offline"] is False


def test_leaving_the_overflow_area_frees_a_place_there(make_user):
    door = at_door(campaign_of(make_user()), capacity=None, max_guests=3, safe_capacity=1,
                   overflow_name="North lawn", overflow_capacity=5)
    _a, first = make_ticket(door.rally)
    rsvp, lawn = make_ticket(door.rally, guests=1)
    check_in(first, door.scanner, nonce=nonce())
    assert check_in(lawn, door.scanner, nonce=nonce()).verdict == "admit_overflow"
    assert stored_rsvp(rsvp.id).overflow_people == 2
    check_out(lawn, door.scanner, nonce=nonce(), people=1)
    assert [r.overflow_people for r in exit_rows()] == [1]
    assert stored_rsvp(rsvp.id).overflow_people == 1
    rally = stored_rally(door.rally.id)
    assert (rally.inside_people, rally.overflow_people) == (1, 1)


def test_one_person_leaving_by_another_door_is_counted_there(door):
    _rsvp, code = make_ticket(door.rally, guests=1)
    check_in(code, door.scanner, nonce=nonce())
    south = door_session(make_door(door.rally, "South gate"), device="Phone 3")[0]
    check_out(code, south, nonce=nonce(), people=1)
    exits = db.session.execute(sa.select(ArrivalMinute.door_id, ArrivalMinute.exits)
                               .where(ArrivalMinute.rally_id == door.rally.id, ArrivalMinute.exits != 0)).all()
    assert exits == [(south.door_id, 1)]
    assert [(t.name, t.inside_people) for t in door_totals(door.rally.id)] == [("North gate", 2), ("South gate", -1)]
