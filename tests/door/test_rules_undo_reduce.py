"""Undo and reduce: only what was admitted is taken back, by whom the rules allow, once, with counters following."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from rallies.database import atomic
from rallies.door.admissions import REDUCE_WINDOW, admit_walkin, reduce_admission, undo_checkin
from rallies.door.checkin import check_in
from rallies.door.scans import scan_log
from rallies.door.verdicts import CheckinInputError
from rallies.extensions import db
from rallies.models import Checkin, utcnow
from tests.factories import at_door, campaign_of, door_session, make_ticket, nonce, set_status_at
from tests.stored import checkin_people, stored_rally, stored_rsvp


@pytest.fixture
def door(make_user, make_rally):
    return at_door(campaign_of(make_user()), capacity=None, max_guests=5)


def test_reduce_the_first_scan_keeps_part_of_the_party(door):
    rsvp, code = make_ticket(door.rally, guests=3)
    admitted = check_in(code, door.scanner, nonce=nonce())
    reduced = reduce_admission(door.scanner, scan_id=admitted.scan_id, keep=1, nonce=nonce())
    assert (reduced.verdict, reduced.reason, reduced.admitted) == ("undo", "reduced", -3)
    assert (reduced.ticket["checked_in"], reduced.ticket["remaining"]) == (1, 3)
    assert stored_rsvp(rsvp.id).checked_in_people == 1
    r = stored_rally(door.rally.id)
    assert (r.checked_in_people, r.checked_in_rsvp_people) == (1, 1)
    assert checkin_people(door.rally.id) == 1


@pytest.mark.parametrize("scan_id", [True, "1", 0, -1, 2**63, 1.0])
def test_reduce_needs_a_scan_id(door, scan_id):
    with pytest.raises(CheckinInputError) as err:
        reduce_admission(door.scanner, scan_id=scan_id, keep=1, nonce=nonce())
    assert err.value.code == "invalid_scan_id"


@pytest.mark.parametrize("keep", [True, 0, -1, "1", 1.5])
def test_reduce_keeps_at_least_one(door, keep):
    _rsvp, code = make_ticket(door.rally, guests=1)
    admitted = check_in(code, door.scanner, nonce=nonce())
    with pytest.raises(CheckinInputError) as err:
        reduce_admission(door.scanner, scan_id=admitted.scan_id, keep=keep, nonce=nonce())
    assert err.value.code == "invalid_people"
    assert stored_rally(door.rally.id).checked_in_people == 2


def test_reduce_must_keep_fewer_than_were_admitted(door):
    _rsvp, code = make_ticket(door.rally, guests=1)
    admitted = check_in(code, door.scanner, nonce=nonce())
    with pytest.raises(CheckinInputError):
        reduce_admission(door.scanner, scan_id=admitted.scan_id, keep=2, nonce=nonce())
    assert stored_rally(door.rally.id).checked_in_people == 2


def test_a_scanner_reduces_only_its_own_scans_a_supervisor_any(door):
    _rsvp, code = make_ticket(door.rally, guests=2)
    admitted = check_in(code, door.scanner, nonce=nonce())
    other, _secret, _link = door_session(door.door, device="Phone 3")
    nothing = reduce_admission(other, scan_id=admitted.scan_id, keep=1, nonce=nonce())
    assert (nothing.reason, nothing.admitted) == ("nothing_to_undo", 0)
    assert stored_rally(door.rally.id).checked_in_people == 3
    done = reduce_admission(door.supervisor, scan_id=admitted.scan_id, keep=1, nonce=nonce())
    assert done.admitted == -2
    assert stored_rally(door.rally.id).checked_in_people == 1


@pytest.mark.parametrize(("minutes_ago", "reduced"), [(9, True), (11, False)])
def test_reduce_only_within_its_window(door, minutes_ago, reduced):
    _rsvp, code = make_ticket(door.rally, guests=1)
    admitted = check_in(code, door.scanner, nonce=nonce())
    with atomic():
        db.session.execute(sa.update(Checkin).values(admitted_at=utcnow() - timedelta(minutes=minutes_ago)))
    verdict = reduce_admission(door.scanner, scan_id=admitted.scan_id, keep=1, nonce=nonce())
    assert (verdict.reason == "reduced") is reduced
    assert stored_rally(door.rally.id).checked_in_people == (1 if reduced else 2)


def test_reduce_exactly_one_window_after_the_admission_is_allowed(door, monkeypatch):
    _rsvp, code = make_ticket(door.rally, guests=1)
    admitted = check_in(code, door.scanner, nonce=nonce())
    now = utcnow().replace(microsecond=0)
    monkeypatch.setattr("rallies.door.admissions.utcnow", lambda: now)  # a frozen clock: the boundary itself
    with atomic():
        db.session.execute(sa.update(Checkin).values(admitted_at=now - REDUCE_WINDOW))
    assert reduce_admission(door.scanner, scan_id=admitted.scan_id, keep=1, nonce=nonce()).reason == "reduced"
    assert stored_rally(door.rally.id).checked_in_people == 1


@pytest.mark.parametrize("rsvp_id", [True, "1", 0, -3, 2**31])
def test_undo_needs_a_ticket_id(door, rsvp_id):
    with pytest.raises(CheckinInputError) as err:
        undo_checkin(door.supervisor, rsvp_id=rsvp_id, reason="mistake", nonce=nonce())
    assert err.value.code == "invalid_ticket_id"


def test_undo_part_of_the_latest_admission(door):
    rsvp, code = make_ticket(door.rally, guests=3)
    check_in(code, door.scanner, nonce=nonce(), people=1)
    check_in(code, door.scanner, nonce=nonce(), people=3)
    verdict = undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="  two   left  ", nonce=nonce(), people=2)
    assert (verdict.reason, verdict.admitted, verdict.ticket["checked_in"]) == ("undone", -2, 2)
    assert stored_rsvp(rsvp.id).checked_in_people == 2
    assert stored_rally(door.rally.id).checked_in_people == 2
    assert checkin_people(door.rally.id) == 2
    again = undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="all left", nonce=nonce(), people=9)
    assert again.admitted == -1  # the rest of that latest admission, never more
    assert stored_rsvp(rsvp.id).checked_in_people == 1


def test_undo_the_whole_latest_admission_marks_it_undone(door):
    rsvp, code = make_ticket(door.rally, guests=1)
    check_in(code, door.scanner, nonce=nonce())
    undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="x" * 300, nonce=nonce())
    undone = db.session.scalars(sa.select(Checkin)).one()
    assert undone.undone_at is not None and undone.undo_reason == "x" * 200 and undone.people == 2
    nothing = undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="again", nonce=nonce())
    assert nothing.reason == "nothing_to_undo"
    assert stored_rally(door.rally.id).checked_in_people == 0


def test_undoing_part_of_a_walkin_shrinks_its_party(door):
    verdict = admit_walkin(door.scanner, name="Walk In", nonce=nonce(), guests=2)
    walkin = verdict.ticket["id"]
    before = stored_rsvp(walkin).changed_seq
    undo_checkin(door.supervisor, rsvp_id=walkin, reason="one left", nonce=nonce(), people=1)
    assert (stored_rsvp(walkin).guests, stored_rsvp(walkin).status, stored_rsvp(walkin).checked_in_people) == (1, "going", 2)
    assert stored_rsvp(walkin).changed_seq > before  # door devices sync the smaller party
    r = stored_rally(door.rally.id)
    assert (r.going_people, r.guests_count, r.going_parties, r.walkin_people, r.checked_in_people) == (2, 1, 1, 2, 2)


def test_undoing_a_whole_walkin_cancels_it(door):
    verdict = admit_walkin(door.scanner, name="Walk In", nonce=nonce(), guests=2)
    walkin = verdict.ticket["id"]
    before = stored_rsvp(walkin).changed_seq
    undo_checkin(door.supervisor, rsvp_id=walkin, reason="wrong rally", nonce=nonce())
    assert stored_rsvp(walkin).status == "cancelled"
    assert stored_rsvp(walkin).changed_seq > before  # door devices sync the cancellation
    r = stored_rally(door.rally.id)
    assert (r.going_people, r.guests_count, r.going_parties, r.cancelled_parties) == (0, 0, 0, 1)
    assert (r.walkin_people, r.checked_in_people) == (0, 0)


def test_name_search_admits_a_ticket_of_this_rally_up_to_the_largest_id(door):
    rsvp, _code = make_ticket(door.rally, id=2**31 - 1)
    verdict = check_in(None, door.scanner, nonce=nonce(), ticket_id=rsvp.id)
    assert (verdict.verdict, verdict.admitted, stored_rsvp(rsvp.id).checked_in_people) == ("admit", 1, 1)


@pytest.mark.parametrize("ticket_id", [True, "1", 0, -1, 2**31, 1.0])
def test_name_search_needs_a_ticket_id_of_this_rally(door, ticket_id):
    rsvp, _code = make_ticket(door.rally)
    verdict = check_in(None, door.scanner, nonce=nonce(), ticket_id=ticket_id)
    assert (verdict.verdict, verdict.reason) == ("invalid", "unknown_ticket")
    assert stored_rsvp(rsvp.id).checked_in_people == 0


def test_name_search_admits_the_first_ticket(door):
    rsvp, _code = make_ticket(door.rally)
    verdict = check_in(None, door.scanner, nonce=nonce(), ticket_id=rsvp.id)
    assert verdict.admitted == 1 and verdict.ticket["id"] == rsvp.id


def test_an_undo_answers_with_the_ticket_and_is_logged_with_its_reason(door):
    rsvp, code = make_ticket(door.rally, guests=1)
    check_in(code, door.scanner, nonce=nonce())
    verdict = undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="one left", nonce=nonce(), people=1).to_dict()
    assert (verdict["verdict"], verdict["reason"], verdict["admitted"], verdict["flags"]) == ("undo", "undone", -1, {})
    assert verdict["ticket"] == {"id": rsvp.id, "name": stored_rsvp(rsvp.id).door_name, "party": 2, "checked_in": 1,
                                 "remaining": 1, "status": "going"}
    logged = scan_log(door.rally.id)[0]
    assert (logged["verdict"], logged["reason"], logged["ticket_id"], logged["people"], logged["note"]) == (
        "undo", "undone", rsvp.id, 1, "one left")
    nothing = undo_checkin(door.supervisor, rsvp_id=rsvp.id + 1, reason="x", nonce=nonce()).to_dict()
    assert (nothing["verdict"], nothing["reason"], nothing["admitted"], nothing["flags"]) == (
        "undo", "nothing_to_undo", 0, {})


def test_a_reduce_is_logged_as_part_of_the_party(door):
    rsvp, code = make_ticket(door.rally, guests=3)
    admitted = check_in(code, door.scanner, nonce=nonce())
    reduce_admission(door.scanner, scan_id=admitted.scan_id, keep=1, nonce=nonce())
    logged = scan_log(door.rally.id)[0]
    assert (logged["reason"], logged["ticket_id"], logged["people"], logged["note"]) == (
        "reduced", rsvp.id, 3, "part of party")


def test_reduce_takes_back_from_the_scan_it_names_not_the_latest(door):
    first, first_code = make_ticket(door.rally, guests=2)
    second, second_code = make_ticket(door.rally, guests=2)
    scan = check_in(first_code, door.scanner, nonce=nonce()).scan_id
    check_in(second_code, door.scanner, nonce=nonce())
    assert reduce_admission(door.scanner, scan_id=scan, keep=1, nonce=nonce()).admitted == -2
    assert (stored_rsvp(first.id).checked_in_people, stored_rsvp(second.id).checked_in_people) == (1, 3)


def test_a_supervisor_undoes_and_reduces_only_at_their_own_rally(door, make_rally):
    theirs = at_door(db.session.get(type(door.rally), door.rally.id).campaign, capacity=None,
                     max_guests=5)
    rsvp, code = make_ticket(theirs.rally, guests=2)
    scan = check_in(code, theirs.scanner, nonce=nonce()).scan_id
    assert undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="x", nonce=nonce()).reason == "nothing_to_undo"
    assert reduce_admission(door.supervisor, scan_id=scan, keep=1, nonce=nonce()).reason == "nothing_to_undo"
    assert stored_rsvp(rsvp.id).checked_in_people == 3
    assert (stored_rally(theirs.rally.id).checked_in_people, stored_rally(door.rally.id).checked_in_people) == (3, 0)


def test_a_walkin_undone_whole_is_cancelled_as_of_the_undo(door):
    walkin = admit_walkin(door.scanner, name="Walk In", nonce=nonce(), guests=1).ticket["id"]
    set_status_at(walkin, utcnow() - timedelta(days=1))
    before = utcnow()
    undo_checkin(door.supervisor, rsvp_id=walkin, reason="wrong rally", nonce=nonce())
    assert stored_rsvp(walkin).status == "cancelled" and stored_rsvp(walkin).status_at >= before
