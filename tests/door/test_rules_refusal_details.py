"""What a refused ticket tells the door, and what the scan log keeps of it.

Door staff must see whose ticket was refused and why (name, party, status), for an unconfirmed
ticket as for a cancelled or waitlisted one. An offline admission of a ticket that is not going is
an override: flagged as a conflict in the answer and in the scan log, with the party the device let in
(an online refusal logs nobody).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from rallies.database import atomic
from rallies.door.checkin import check_in
from rallies.door.scans import scan_log
from rallies.extensions import db
from rallies.models import Checkin, Rsvp, utcnow
from tests.factories import at_door, campaign_of, checkin_row, make_ticket, nonce


@pytest.fixture
def door(make_user):
    return at_door(campaign_of(make_user()), capacity=None, max_guests=3)


def _upload(code, ctx, **kw):
    return check_in(code, ctx, nonce=nonce(), offline=True, online=False, device_verdict="admit",
                    client_time=utcnow() - timedelta(minutes=2), **kw)


@pytest.mark.parametrize("status", ["cancelled", "waitlisted", "unconfirmed"])
def test_an_online_refusal_names_the_ticket(door, status):
    rsvp, code = make_ticket(door.rally, guests=2, status=status)
    verdict = check_in(code, door.scanner, nonce=nonce())
    assert (verdict.verdict, verdict.reason, verdict.admitted) == (status, f"ticket_{status}", 0)
    assert verdict.ticket == {"id": rsvp.id, "name": "Ana L.", "party": 3, "checked_in": 0, "remaining": 3,
                              "status": status}
    logged = scan_log(door.rally.id)[0]
    assert (logged["verdict"], logged["reason"], logged["ticket_id"], logged["people"]) == (
        status, f"ticket_{status}", rsvp.id, 0)  # nobody came in
    assert logged["conflict"] is False


@pytest.mark.parametrize("status", ["cancelled", "waitlisted", "unconfirmed"])
def test_an_offline_admission_of_a_ticket_not_going_is_a_logged_override(door, status):
    rsvp, code = make_ticket(door.rally, guests=1, status=status)
    verdict = _upload(code, door.scanner)
    assert (verdict.verdict, verdict.reason, verdict.admitted) == (status, "offline_override", 0)
    assert verdict.ticket["id"] == rsvp.id and verdict.ticket["party"] == 2
    assert verdict.flags["conflict"] is True and verdict.flags["override"] is True
    assert verdict.flags["offline"] is True
    logged = scan_log(door.rally.id)[0]
    assert (logged["reason"], logged["conflict"], logged["offline"], logged["people"]) == (
        "offline_override", True, True, 2)


def test_an_offline_override_logs_the_people_the_device_said(door):
    _rsvp, code = make_ticket(door.rally, guests=2, status="cancelled")
    _upload(code, door.scanner, people=1)
    assert scan_log(door.rally.id)[0]["people"] == 1


def test_an_admission_answers_with_the_ticket_after_it(door):
    rsvp, code = make_ticket(door.rally, guests=2)
    first = check_in(code, door.scanner, nonce=nonce(), people=1)
    assert first.ticket == {"id": rsvp.id, "name": "Ana L.", "party": 3, "checked_in": 1, "remaining": 2,
                            "status": "going"}
    assert scan_log(door.rally.id)[0]["people"] == 1
    again = check_in(code, door.scanner, nonce=nonce())
    assert (again.verdict, again.admitted, again.ticket["checked_in"], again.ticket["remaining"]) == ("admit", 2, 3, 0)
    done = check_in(code, door.scanner, nonce=nonce())
    assert (done.verdict, done.reason) == ("already", "already_checked_in")
    assert done.flags == {"clock": False, "offline": False, "forced": False, "conflict": False}
    assert done.previous is not None


def test_an_already_says_when_where_and_by_which_device_the_ticket_came_in(door):
    rsvp, code = make_ticket(door.rally)
    assert check_in(code, door.scanner, nonce=nonce()).admitted == 1
    row = db.session.scalar(sa.select(Checkin).where(Checkin.rsvp_id == rsvp.id))
    again = check_in(code, door.scanner, nonce=nonce())
    assert again.verdict == "already"
    assert again.previous == {"at": row.admitted_at.isoformat(), "door": "North gate", "device": "Phone 1"}


def test_an_already_through_a_deleted_door_names_no_door(door):
    rsvp, code = make_ticket(door.rally)
    at = utcnow() - timedelta(minutes=3)
    checkin_row(door.rally, None, rsvp, 1, at)
    with atomic():
        db.session.execute(sa.update(Rsvp).where(Rsvp.id == rsvp.id).values(checked_in_people=1))
    again = check_in(code, door.scanner, nonce=nonce())
    assert again.verdict == "already"
    assert (again.previous["door"], again.previous["at"]) == ("", db.session.scalar(
        sa.select(Checkin.admitted_at).where(Checkin.rsvp_id == rsvp.id)).isoformat())
