"""What an entry scan answers and writes (door/checkin.py check_in, door/decision.py): the scan log's code, note,
times and verdict, the check-in row, and the ticket and flags that every refusal carries."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import sqlalchemy as sa

from rallies.door.checkin import check_in
from rallies.door.exits import check_out
from rallies.door.scan_input import CLOCK_SKEW, MAX_PARTY, OFFLINE_MAX_AGE, clock_flag
from rallies.door.verdicts import CheckinInputError
from rallies.extensions import db
from rallies.models import Checkin, ScanLog, utcnow
from tests.factories import at_door, campaign_of, make_ticket, nonce
from tests.stored import stored_rally, stored_rsvp

NO_FLAGS = {"clock": False, "offline": False, "forced": False, "conflict": False}


@pytest.fixture
def door(make_user):
    return at_door(campaign_of(make_user()), capacity=None, max_guests=3)


@pytest.fixture
def full(make_user):
    """A venue of 1, already full, with an overflow area of 5."""
    door = at_door(campaign_of(make_user()), capacity=None, safe_capacity=1, overflow_name="Lawn",
                   overflow_capacity=5)
    check_in(make_ticket(door.rally)[1], door.scanner, nonce=nonce())
    return door


def last_scan() -> ScanLog:
    return db.session.scalars(sa.select(ScanLog).order_by(ScanLog.id.desc()).limit(1)).one()


def upload(code, ctx, **kw):
    return check_in(code, ctx, nonce=nonce(), offline=True, online=False, client_time=utcnow() - timedelta(minutes=2),
                    **kw)


def test_an_online_admission_logs_its_code_and_writes_a_plain_entry_row(door):
    rsvp, code = make_ticket(door.rally)
    admitted = check_in(code, door.scanner, nonce=nonce())
    assert (last_scan().code, last_scan().rsvp_id, last_scan().note) == (code, rsvp.id, "")
    row = db.session.scalars(sa.select(Checkin).where(Checkin.scan_id == admitted.scan_id)).one()
    assert (row.direction, row.reentry, row.undo_reason, row.undone_at) == ("entry", False, "", None)


def test_an_upload_is_logged_at_the_time_its_batch_was_received(door):
    _rsvp, code = make_ticket(door.rally)
    received = (utcnow() - timedelta(seconds=30)).replace(microsecond=0)
    assert upload(code, door.scanner, device_verdict="admit", received_at=received).verdict == "admit"
    assert last_scan().received_at == received


@pytest.mark.parametrize(("device_verdict", "logged"), [("already", "already"), ("waitlisted", "waitlisted"),
                                                         ("made-up", "invalid")])
def test_an_offline_refusal_shows_the_ticket_and_the_scans_flags(door, device_verdict, logged):
    rsvp, code = make_ticket(door.rally, name="Sam Smith")
    refused = upload(code, door.scanner, device_verdict=device_verdict)
    assert (refused.verdict, refused.reason, refused.admitted) == (logged, "offline_refused", 0)
    assert (refused.ticket["id"], refused.ticket["name"]) == (rsvp.id, "Sam S.")
    assert (refused.flags["offline"], refused.flags["conflict"]) == (True, False)
    assert (last_scan().verdict, stored_rsvp(rsvp.id).checked_in_people) == (logged, 0)


def test_an_unreadable_code_answers_with_the_scans_flags(door):
    refused = check_in("hello", door.scanner, nonce=nonce())
    assert (refused.verdict, refused.reason, refused.flags) == ("invalid", "malformed_code", NO_FLAGS)


def test_an_upload_with_a_code_and_a_picked_id_is_decided_by_the_code(door):
    scanned, code = make_ticket(door.rally, name="Ana López")
    picked, _ = make_ticket(door.rally, name="Bo Li")
    assert upload(code, door.scanner, device_verdict="admit", ticket_id=picked.id).admitted == 1
    assert (stored_rsvp(scanned.id).checked_in_people, stored_rsvp(picked.id).checked_in_people) == (1, 0)


def test_an_override_reason_is_kept_to_200_characters(door):
    rsvp, code = make_ticket(door.rally, status="waitlisted")
    forced = check_in(code, door.supervisor, nonce=nonce(), force=True, override_reason="r" * 201)
    assert (forced.verdict, forced.reason) == ("admit", "forced")
    assert last_scan().note == "r" * 200
    assert stored_rsvp(rsvp.id).checked_in_people == 1


def test_a_reason_without_force_lifts_nothing(full):
    """Only a supervisor's force with a reason passes a full venue: a reason alone is dropped."""
    rsvp, _code = make_ticket(full.rally)
    held = check_in(None, full.supervisor, nonce=nonce(), ticket_id=rsvp.id, override_reason="my friend")
    assert (held.verdict, held.reason) == ("admit_overflow", "venue_full")  # sent to the lawn, not let in
    assert (last_scan().note, last_scan().forced) == ("", False)
    assert stored_rally(full.rally.id).inside_people == 1


def test_an_overflow_admission_is_logged_as_one(full):
    _rsvp, code = make_ticket(full.rally)
    sent = check_in(code, full.scanner, nonce=nonce())
    assert (sent.verdict, sent.reason) == ("admit_overflow", "venue_full")
    assert (last_scan().verdict, last_scan().reason) == ("admit_overflow", "venue_full")


def test_a_held_scan_shows_this_doors_count_and_the_scans_flags(make_user):
    door = at_door(campaign_of(make_user()), capacity=None, safe_capacity=1)
    check_in(make_ticket(door.rally)[1], door.scanner, nonce=nonce())
    held = check_in(make_ticket(door.rally)[1], door.scanner, nonce=nonce())
    assert (held.verdict, held.flags) == ("venue_full", NO_FLAGS)
    assert (held.extra["inside"]["rally"], held.extra["inside"]["door"]) == (1, 1)


def test_a_party_member_not_yet_in_is_admitted_before_anyone_comes_back(door):
    """Two of three came in and one went out: the next whole-party scan admits the third, a first entry."""
    rsvp, code = make_ticket(door.rally, guests=2)
    check_in(code, door.scanner, nonce=nonce(), people=2)
    check_out(code, door.scanner, nonce=nonce(), people=1)
    third = check_in(code, door.scanner, nonce=nonce())
    assert (third.verdict, third.reason, third.admitted, third.flags.get("reentry")) == ("admit", "ok", 1, None)
    assert (stored_rsvp(rsvp.id).checked_in_people, stored_rsvp(rsvp.id).outside_people) == (3, 1)
    back = check_in(code, door.scanner, nonce=nonce())
    assert (back.verdict, back.reason, back.admitted) == ("admit", "reentry", 1)


def test_a_picked_ticket_is_admitted_as_ok_and_forcing_a_going_one_is_no_override(door):
    picked, _ = make_ticket(door.rally)
    assert check_in(None, door.scanner, nonce=nonce(), ticket_id=picked.id).reason == "ok"
    _going, code = make_ticket(door.rally, guests=1)
    forced = check_in(code, door.supervisor, nonce=nonce(), force=True)
    assert (forced.verdict, forced.reason, forced.admitted) == ("admit", "ok", 2)  # going anyway: nothing forced


def test_an_upload_answers_the_tickets_new_count_and_no_earlier_admission_unless_in_conflict(door):
    rsvp, code = make_ticket(door.rally, guests=1)
    first = upload(code, door.scanner, device_verdict="admit", people=1)
    second = upload(code, door.scanner, device_verdict="admit", people=1)
    assert [(v.reason, v.ticket["checked_in"], v.ticket["remaining"], v.previous) for v in (first, second)] == [
        ("offline_accepted", 1, 1, None), ("offline_accepted", 2, 0, None)]
    third = upload(code, door.scanner, device_verdict="admit", people=1)
    assert (third.reason, third.admitted, third.previous["door"]) == ("offline_conflict", 0, "North gate")
    assert stored_rsvp(rsvp.id).checked_in_people == 2


def test_a_ticket_that_keeps_changing_underneath_is_refused_not_retried_forever(door, monkeypatch):
    """Every admission attempt loses a race (simulated): after the retries the scan is refused and logged."""
    rsvp, _code = make_ticket(door.rally, name="Sam Smith")
    tries = []
    monkeypatch.setattr("rallies.door.decision._admit_ticket", lambda *args: tries.append(args) and None)
    refused = check_in(None, door.scanner, nonce=nonce(), ticket_id=rsvp.id)
    assert len(tries) == 4  # four tries, then the answer
    assert (refused.verdict, refused.reason, refused.admitted, refused.flags) == ("already", "contended", 0, NO_FLAGS)
    assert (refused.ticket["id"], refused.ticket["name"]) == (rsvp.id, "Sam S.")
    assert (last_scan().verdict, last_scan().reason, last_scan().rsvp_id) == ("already", "contended", rsvp.id)
    assert stored_rsvp(rsvp.id).checked_in_people == 0


def test_an_upload_without_an_online_flag_is_online_when_its_time_is_now(door):
    _rsvp, code = make_ticket(door.rally)
    now = utcnow().replace(microsecond=0)
    verdict = check_in(code, door.scanner, nonce=nonce(), offline=True, client_time=now, device_verdict="admit")
    assert (verdict.reason, verdict.flags["offline"], last_scan().offline) == ("ok", False, False)


def test_a_device_time_before_its_session_began_is_flagged_and_not_trusted(door):
    scanner = dataclasses.replace(door.scanner, session_started=utcnow() - timedelta(minutes=5))
    _rsvp, code = make_ticket(door.rally)
    before = (utcnow() - timedelta(minutes=20)).replace(microsecond=0)  # within an upload's age, before the session
    verdict = check_in(code, scanner, nonce=nonce(), offline=True, online=False, client_time=before,
                       device_verdict="admit")
    assert (verdict.verdict, verdict.flags["clock"]) == ("admit", True)
    row = db.session.scalars(sa.select(Checkin).where(Checkin.scan_id == verdict.scan_id)).one()
    assert row.admitted_at > before  # the server's time, not the device's


def test_an_online_scan_with_a_clock_minutes_behind_is_flagged(door):
    scanner = dataclasses.replace(door.scanner, session_started=utcnow() - timedelta(hours=1))
    _rsvp, code = make_ticket(door.rally)
    verdict = check_in(code, scanner, nonce=nonce(), client_time=utcnow() - timedelta(minutes=6))
    assert (verdict.verdict, verdict.flags["clock"], last_scan().clock_flagged) == ("admit", True, True)


@pytest.mark.parametrize("people", [0, -1, MAX_PARTY + 1, True, "2", 1.5])
def test_people_must_be_a_whole_number_up_to_the_largest_party(door, people):
    _rsvp, code = make_ticket(door.rally)
    with pytest.raises(CheckinInputError) as err:
        check_in(code, door.scanner, nonce=nonce(), people=people)
    assert err.value.code == "invalid_people"


def test_the_largest_party_may_be_asked_for(door):
    _rsvp, code = make_ticket(door.rally)
    refused = check_in(code, door.scanner, nonce=nonce(), people=MAX_PARTY)
    assert (refused.verdict, refused.reason) == ("already", "party_exceeded")  # a valid ask, larger than the party


def test_the_answer_a_door_reads_carries_the_message_to_show(door, make_rally):
    _rsvp, code = make_ticket(door.rally)
    body = check_in(code, door.scanner, nonce=nonce()).to_dict()
    assert (body["verdict"], body["message"]) == ("admit", "Admit")
    again = check_in(code, door.scanner, nonce=nonce()).to_dict()
    assert (again["verdict"], again["previous"]["door"]) == ("already", "North gate")
    elsewhere = make_rally(door.rally.campaign, capacity=None)
    wrong = check_in(make_ticket(elsewhere)[1], door.scanner, nonce=nonce()).to_dict()
    assert (wrong["verdict"], wrong["rally"]["id"]) == ("wrong_rally", elsewhere.id)


@pytest.mark.parametrize("offline", [False, True])
def test_a_device_clock_exactly_at_the_allowed_difference_is_not_flagged(offline):
    now = utcnow()
    behind = OFFLINE_MAX_AGE if offline else CLOCK_SKEW
    assert clock_flag(now + CLOCK_SKEW, now, offline) is False
    assert clock_flag(now - behind, now, offline) is False
    assert clock_flag(now + CLOCK_SKEW + timedelta(seconds=1), now, offline) is True
    assert clock_flag(now - behind - timedelta(seconds=1), now, offline) is True


def test_a_device_time_exactly_one_skew_before_its_session_is_not_flagged(door):
    began = utcnow() - timedelta(hours=2)
    ctx = dataclasses.replace(door.scanner, session_started=began, window=None)
    received = utcnow()
    assert clock_flag(began - CLOCK_SKEW, received, True, ctx) is False
    assert clock_flag(began - CLOCK_SKEW - timedelta(seconds=1), received, True, ctx) is True
