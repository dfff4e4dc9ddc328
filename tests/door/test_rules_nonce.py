"""Nonce idempotency: the same nonce gets the same stored answer, and is counted once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from rallies.door.admissions import admit_walkin, undo_checkin
from rallies.door.checkin import check_in
from rallies.door.verdicts import CheckinInputError
from rallies.extensions import db
from rallies.models import Rsvp
from tests.factories import at_door, campaign_of, make_ticket, nonce
from tests.stored import checkin_people, scan_count, stored_rally, stored_rsvp


@pytest.fixture
def door(make_user, make_rally):
    return at_door(campaign_of(make_user()), capacity=None, max_guests=3)


def test_same_nonce_same_answer_counted_once(door):
    rsvp, code = make_ticket(door.rally, guests=2)
    key = nonce()
    first = check_in(code, door.scanner, nonce=key, people=2)
    again = check_in(code, door.scanner, nonce=key, people=2)
    assert (first.replayed, again.replayed) == (False, True)
    assert (again.verdict, again.reason, again.admitted, again.scan_id) == ("admit", "ok", 2, first.scan_id)
    assert again.ticket == first.ticket
    assert stored_rsvp(rsvp.id).checked_in_people == 2
    assert stored_rally(door.rally.id).checked_in_people == 2
    assert checkin_people(door.rally.id) == 2
    assert scan_count(door.rally.id) == 1


def test_a_reused_nonce_never_admits_another_ticket(door):
    first_rsvp, first_code = make_ticket(door.rally)
    other, other_code = make_ticket(door.rally)
    key = nonce()
    check_in(first_code, door.scanner, nonce=key)
    replay = check_in(other_code, door.scanner, nonce=key)
    assert replay.replayed and replay.ticket["id"] == first_rsvp.id
    assert stored_rsvp(other.id).checked_in_people == 0
    assert stored_rally(door.rally.id).checked_in_people == 1


def test_a_refusal_replays_as_the_same_refusal(door):
    rsvp, code = make_ticket(door.rally, status="cancelled")
    key = nonce()
    first = check_in(code, door.scanner, nonce=key)
    again = check_in(code, door.scanner, nonce=key)
    assert (again.verdict, again.reason, again.scan_id, again.replayed) == ("cancelled", "ticket_cancelled",
                                                                          first.scan_id, True)
    assert scan_count(door.rally.id) == 1


def test_an_upload_retried_is_counted_once(door):
    from datetime import timedelta

    from rallies.models import utcnow

    rsvp, code = make_ticket(door.rally, guests=2)
    key, when = nonce(), utcnow() - timedelta(minutes=3)
    for _ in range(3):
        verdict = check_in(code, door.scanner, nonce=key, offline=True, online=False, device_verdict="admit",
                           client_time=when)
        assert verdict.admitted == 3
    assert stored_rsvp(rsvp.id).checked_in_people == 3
    assert stored_rally(door.rally.id).checked_in_people == 3


def test_walkin_retried_is_one_walkin(door):
    key = nonce()
    first = admit_walkin(door.scanner, name="Walk In", nonce=key, guests=1)
    again = admit_walkin(door.scanner, name="Walk In", nonce=key, guests=1)
    assert again.replayed and again.ticket["id"] == first.ticket["id"]
    walkins = db.session.scalar(sa.select(sa.func.count()).select_from(Rsvp)
                                .where(Rsvp.rally_id == door.rally.id, Rsvp.is_walkin.is_(True)))
    assert walkins == 1
    r = stored_rally(door.rally.id)
    assert (r.checked_in_people, r.walkin_people, r.going_people) == (2, 2, 2)


def test_undo_retried_is_undone_once(door):
    rsvp, code = make_ticket(door.rally, guests=3)
    check_in(code, door.scanner, nonce=nonce(), people=2)
    check_in(code, door.scanner, nonce=nonce(), people=2)
    key = nonce()
    undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="scanned twice", nonce=key)
    undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="scanned twice", nonce=key)
    assert stored_rsvp(rsvp.id).checked_in_people == 2
    assert stored_rally(door.rally.id).checked_in_people == 2


@pytest.mark.parametrize("bad", ["", "short", "x" * 65, "has space!", None, 12345678])
def test_a_scan_needs_a_usable_nonce(door, bad):
    rsvp, code = make_ticket(door.rally)
    with pytest.raises(CheckinInputError):
        check_in(code, door.scanner, nonce=bad)
    assert stored_rsvp(rsvp.id).checked_in_people == 0


def replayed_as(first, again) -> None:
    """The replay answers the stored body, word for word, marked as replayed (at_capacity, known only after
    the scan was logged, is not stored)."""
    body = dict(first.to_dict(), replayed=True)
    body.pop("at_capacity", None)
    assert again.to_dict() == body


def test_a_replay_answers_the_whole_stored_body(door, make_rally):
    rsvp, code = make_ticket(door.rally, guests=1)
    admitted_key, already_key = nonce(), nonce()
    admitted = check_in(code, door.scanner, nonce=admitted_key, people=2)
    assert "at_capacity" in admitted.to_dict()
    replayed_as(admitted, check_in(code, door.scanner, nonce=admitted_key, people=2))
    already = check_in(code, door.scanner, nonce=already_key)
    assert (already.verdict, already.previous["door"]) == ("already", "North gate")
    replayed_as(already, check_in(code, door.scanner, nonce=already_key))
    elsewhere = make_rally(door.rally.campaign, starts_at=door.rally.starts_at)
    _theirs, their_code = make_ticket(elsewhere)
    wrong_key = nonce()
    wrong = check_in(their_code, door.scanner, nonce=wrong_key)
    assert wrong.rally["id"] == elsewhere.id
    replayed_as(wrong, check_in(their_code, door.scanner, nonce=wrong_key))
