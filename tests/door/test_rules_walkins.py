"""Walk-ins: who may be admitted without an RSVP, how many, and what the door records.

A walk-in is a ticket made at the door and its whole party admitted at once: within the rally's
door window, within the organizer's walk-in places (walkin_limit, else only free places), at
most WALKINS_PER_DEVICE people per device session (undone walk-ins give theirs back), never for
an email that already has a ticket for this rally. A walk-in who gives an email becomes a
supporter of the campaign. An offline upload is admitted at the device's time when plausible.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import sqlalchemy as sa

from rallies.database import atomic
from rallies.door.admissions import WALKINS_PER_DEVICE, admit_walkin, undo_checkin
from rallies.door.checkin import check_in
from rallies.door.doors import set_walkin_limit
from rallies.door.scans import scan_log, search_tickets
from rallies.door.verdicts import CheckinInputError
from rallies.extensions import db
from rallies.models import Checkin, Rsvp, utcnow
from rallies.rsvp.supporters import find_supporters
from tests.factories import at_door, campaign_of, door_session, make_ticket, nonce, quick_rsvp
from tests.stored import stored_rally, stored_rsvp


@pytest.fixture
def door(make_user, make_rally):
    return at_door(campaign_of(make_user()), capacity=None, max_guests=5)


def refused(call, code: str, status: int = 409) -> str:
    with pytest.raises(CheckinInputError) as err:
        call()
    e = err.value
    assert (e.code, e.status) == (code, status)
    assert e.message[:1].isupper() and e.message.endswith(".") and e.message != e.message.upper()
    return e.message


def test_a_walkin_is_stored_as_given_within_the_columns(door):
    name = "Ana " + "M" * 200
    email = "a" * 250 + "@example.org"
    verdict = admit_walkin(door.scanner, name=f"  {name}  ", email=email, nonce=nonce())
    stored = stored_rsvp(verdict.ticket["id"])
    assert stored.name == name[:120] and len(stored.name) == 120
    assert stored.email == email[:254]
    assert (stored.postal_code, stored.phone, stored.is_walkin, stored.status) == ("", "", True, "going")


def test_a_walkin_answers_and_logs_like_an_admission(door):
    verdict = admit_walkin(door.scanner, name="Bea Walker", nonce=nonce(), guests=2, postal_code=" 60607 ")
    body = verdict.to_dict()
    ticket = verdict.ticket["id"]
    assert (body["verdict"], body["reason"], body["admitted"]) == ("admit", "walkin", 3)
    assert body["flags"] == {"clock": False, "offline": False, "forced": False, "conflict": False}
    assert body["ticket"]["walkin"] is True and body["ticket"]["id"] == ticket
    assert (body["capacity"], body["going_people"], body["over_capacity"]) == (None, 3, False)
    assert stored_rsvp(ticket).postal_code == "60607"
    logged = scan_log(door.rally.id)[0]
    assert (logged["verdict"], logged["reason"], logged["ticket_id"], logged["people"]) == ("admit", "walkin", ticket, 3)
    assert (logged["offline"], logged["forced"], logged["clock_flagged"]) == (False, False, False)
    assert [t["id"] for t in search_tickets(door.rally.id, "walker")] == [ticket]


def test_walkins_fill_free_places_then_the_organizers_walkin_places(make_user, make_rally):
    door = at_door(campaign_of(make_user()), capacity=3, max_guests=5)
    quick_rsvp(door.rally, guests=1)
    fits = admit_walkin(door.scanner, name="One", nonce=nonce()).to_dict()
    assert (fits["capacity"], fits["going_people"], fits["over_capacity"]) == (3, 3, False)
    message = refused(lambda: admit_walkin(door.scanner, name="Two", nonce=nonce()), "walkin_limit")
    assert "walk-in" in message.lower()
    with atomic():
        set_walkin_limit(stored_rally(door.rally.id), 2)
    over = admit_walkin(door.scanner, name="Two", nonce=nonce()).to_dict()
    assert (over["capacity"], over["going_people"], over["over_capacity"]) == (3, 4, True)
    refused(lambda: admit_walkin(door.scanner, name="Three", nonce=nonce()), "walkin_limit")
    assert stored_rally(door.rally.id).walkin_people == 2


def test_a_device_admits_at_most_its_walkin_people(door):
    assert WALKINS_PER_DEVICE == 60
    _rsvp, code = make_ticket(door.rally, guests=4)
    check_in(code, door.scanner, nonce=nonce())  # an RSVP's party is not a walk-in
    parties = [admit_walkin(door.scanner, name=f"Group {i}", nonce=nonce(), guests=10) for i in range(5)]
    admit_walkin(door.scanner, name="Last five", nonce=nonce(), guests=4)  # exactly 60
    message = refused(lambda: admit_walkin(door.scanner, name="One more", nonce=nonce()), "device_walkin_limit")
    assert "device" in message
    other, _secret, _link = door_session(door.door, device="Phone 3")
    assert admit_walkin(other, name="Elsewhere", nonce=nonce()).admitted == 1
    undo_checkin(door.supervisor, rsvp_id=parties[0].ticket["id"], reason="wrong rally", nonce=nonce())
    assert admit_walkin(door.scanner, name="After undo", nonce=nonce(), guests=10).admitted == 11


def test_an_email_with_a_ticket_here_is_not_a_walkin(door, make_rally):
    quick_rsvp(door.rally, email="ana@example.org")
    message = refused(lambda: admit_walkin(door.scanner, name="Ana", email="Ana+door@Example.org", nonce=nonce()),
                      "already_registered")
    assert "search" in message
    elsewhere = make_rally(db.session.get(type(door.rally), door.rally.id).campaign)
    quick_rsvp(elsewhere, email="bo@example.org")
    assert admit_walkin(door.scanner, name="Bo", email="bo@example.org", nonce=nonce()).admitted == 1


def test_a_walkin_with_an_email_becomes_a_campaign_supporter(door):
    other, _code = make_ticket(door.rally, email="other@example.org")
    verdict = admit_walkin(door.scanner, name="Cy Door", email="cy@example.org", postal_code="60607", nonce=nonce())
    (supporter,) = find_supporters(door.rally.campaign_id, "cy@")
    assert (supporter.email, supporter.name, supporter.postal_code, supporter.phone) == (
        "cy@example.org", "Cy Door", "60607", "")
    assert stored_rsvp(verdict.ticket["id"]).supporter_id == supporter.id
    assert stored_rsvp(other.id).supporter_id is None
    assert admit_walkin(door.scanner, name="No Email", nonce=nonce()).admitted == 1
    assert stored_rsvp(db.session.scalar(sa.select(sa.func.max(Rsvp.id)))).supporter_id is None


def test_walkins_only_while_the_doors_are_open(make_user, make_rally):
    later = at_door(campaign_of(make_user()), capacity=None, starts_at=utcnow() + timedelta(days=2))
    message = refused(lambda: admit_walkin(later.scanner, name="Early", nonce=nonce()), "outside_door_window")
    assert "doors" in message


def _started_earlier(ctx, hours: int):
    return dataclasses.replace(ctx, session_started=utcnow() - timedelta(hours=hours))


def test_an_offline_walkin_is_admitted_at_the_devices_plausible_time(door):
    scanner = _started_earlier(door.scanner, 3)
    when = (utcnow() - timedelta(minutes=20)).replace(microsecond=0)
    verdict = admit_walkin(scanner, name="Off Line", nonce=nonce(), client_time=when, offline=True, online=False)
    assert verdict.flags["offline"] is True and verdict.flags["clock"] is False
    assert db.session.scalar(sa.select(Checkin.admitted_at)) == when
    logged = scan_log(door.rally.id)[0]
    assert (logged["offline"], logged["clock_flagged"]) == (True, False)


def test_an_implausible_device_time_is_flagged_and_the_server_time_used(door):
    scanner = _started_earlier(door.scanner, 60)
    long_ago = utcnow() - timedelta(hours=40)  # within the offline age, before the door window
    before = utcnow()
    verdict = admit_walkin(scanner, name="Old Clock", nonce=nonce(), client_time=long_ago, offline=True, online=False)
    assert verdict.flags["clock"] is True and scan_log(door.rally.id)[0]["clock_flagged"] is True
    assert db.session.scalar(sa.select(Checkin.admitted_at)) >= before
    ahead = admit_walkin(door.scanner, name="Fast Clock", nonce=nonce(), client_time=utcnow() + timedelta(minutes=9))
    assert ahead.flags == {"clock": True, "offline": False, "forced": False, "conflict": False}


def test_an_undo_is_logged_online(door):
    walkin = admit_walkin(door.scanner, name="Walk In", nonce=nonce()).ticket["id"]
    undo_checkin(door.supervisor, rsvp_id=walkin, reason="left", nonce=nonce())
    logged = scan_log(door.rally.id)[0]
    assert (logged["verdict"], logged["offline"], logged["forced"], logged["clock_flagged"]) == (
        "undo", False, False, False)


def test_a_walkins_stored_answer_is_its_own_and_has_the_capacity_figures(door):
    _rsvp, code = make_ticket(door.rally)
    scanned_nonce, walkin_nonce = nonce(), nonce()
    scanned = check_in(code, door.scanner, nonce=scanned_nonce).to_dict()
    walkin = admit_walkin(door.scanner, name="Wally Walker", nonce=walkin_nonce, guests=1).to_dict()
    assert (walkin["capacity"], walkin["going_people"], walkin["over_capacity"]) == (
        None, stored_rally(door.rally.id).going_people, False)
    replayed_walkin = admit_walkin(door.scanner, name="Wally Walker", nonce=walkin_nonce, guests=1).to_dict()
    assert {k: replayed_walkin[k] for k in ("capacity", "going_people", "over_capacity", "ticket", "admitted")} == {
        k: walkin[k] for k in ("capacity", "going_people", "over_capacity", "ticket", "admitted")}
    replayed_scan = check_in(code, door.scanner, nonce=scanned_nonce).to_dict()
    assert (replayed_scan["verdict"], replayed_scan["ticket"], replayed_scan.get("capacity")) == (
        scanned["verdict"], scanned["ticket"], None)
