"""What a door device receives: every check-in of a ticket, named by its door, and nothing without a ticket.

The schema keeps a check-in when its door is deleted (door_id set NULL) or its ticket is
(rsvp_id set NULL). A device applies check-ins by ticket id, so a row without a ticket is never
sent; a row without a door is sent with an empty door name.
"""

from __future__ import annotations

import base64
import time

import pytest
import sqlalchemy as sa

from rallies.database import atomic
from rallies.door.checkin import check_in
from rallies.door.sync import sync_payload
from rallies.extensions import db
from rallies.models import Rally, utcnow
from tests.factories import at_door, campaign_of, checkin_row, make_ticket, nonce


@pytest.fixture
def door(make_user, make_rally):
    return at_door(campaign_of(make_user()), capacity=None, max_guests=3)


def test_check_ins_without_a_door_or_a_ticket(door):
    scanned, code = make_ticket(door.rally)
    assert check_in(code, door.scanner, nonce=nonce()).admitted == 1
    doorless_ticket, _ = make_ticket(door.rally, guests=1)
    doorless = checkin_row(door.rally, None, doorless_ticket, 2, utcnow())
    checkin_row(door.rally, door.door, None, 1, utcnow())  # its ticket is gone
    payload = sync_payload(door.rally.id, door.door.id, 0)
    by_ticket = {c[1]: c for c in payload["checkins"]}
    assert set(by_ticket) == {scanned.id, doorless_ticket.id}
    assert by_ticket[scanned.id][4] == door.door.name
    assert by_ticket[doorless_ticket.id][0] == doorless.id
    assert by_ticket[doorless_ticket.id][2:] == [2, int(doorless.admitted_at.timestamp()), "", "Phone 1", 0]


def test_the_payload_says_what_it_answers_with_the_rallys_key(door):
    make_ticket(door.rally)
    before = time.time()
    payload = sync_payload(door.rally.id, door.door.id, 7)
    assert before <= payload["server_time"] <= time.time()
    assert (payload["since"], payload["full"], payload["cursor"]) == (7, False, 7)
    key = db.session.get(Rally, door.rally.id).public_key
    assert key and base64.b64decode(payload["rally"]["public_key"]) == key
    with atomic():  # a rally whose key pair is not made yet
        db.session.execute(sa.update(Rally).where(Rally.id == door.rally.id).values(public_key=None))
    db.session.expire_all()
    assert sync_payload(door.rally.id, door.door.id, 0)["rally"]["public_key"] == ""


def test_an_incremental_sync_lists_every_ticket_checked_in_since_the_cursor(door):
    first, first_code = make_ticket(door.rally, name="Ana López", guests=1)
    second, second_code = make_ticket(door.rally, name="Bo Li")
    untouched, untouched_code = make_ticket(door.rally, name="Cy Park")
    check_in(untouched_code, door.scanner, nonce=nonce())  # before the cursor: not a change after it
    cursor = sync_payload(door.rally.id, door.door.id, 0)["cursor"]
    assert cursor > 0
    assert check_in(first_code, door.scanner, nonce=nonce()).admitted == 2
    assert check_in(second_code, door.scanner, nonce=nonce()).admitted == 1
    payload = sync_payload(door.rally.id, door.door.id, cursor)
    assert sorted((t[0], t[4]) for t in payload["tickets"]) == [(first.id, 2), (second.id, 1)]
    assert untouched.id not in [t[0] for t in payload["tickets"]]
    assert payload["cursor"] > cursor
    assert sync_payload(door.rally.id, door.door.id, payload["cursor"])["tickets"] == []


def test_the_cursor_is_the_latest_change_whatever_the_ticket_order(door):
    first, first_code = make_ticket(door.rally, name="Ana López")
    second, second_code = make_ticket(door.rally, name="Bo Li")
    cursor = sync_payload(door.rally.id, door.door.id, 0)["cursor"]
    check_in(second_code, door.scanner, nonce=nonce())
    check_in(first_code, door.scanner, nonce=nonce())  # the lower id changes last
    payload = sync_payload(door.rally.id, door.door.id, cursor)
    assert [t[0] for t in payload["tickets"]] == [first.id, second.id]
    assert sync_payload(door.rally.id, door.door.id, payload["cursor"])["tickets"] == []


def test_exits_are_not_sent_as_check_ins(door):
    from rallies.door.exits import check_out

    rsvp, code = make_ticket(door.rally, guests=1)
    check_in(code, door.scanner, nonce=nonce())
    cursor = sync_payload(door.rally.id, door.door.id, 0)["cursor"]
    check_out(code, door.scanner, nonce=nonce(), people=1)
    payload = sync_payload(door.rally.id, door.door.id, cursor)
    assert [(t[0], t[4], t[5]) for t in payload["tickets"]] == [(rsvp.id, 2, 1)]  # 2 admitted, 1 outside again
    assert payload["checkins"] == []
    full = sync_payload(door.rally.id, door.door.id, 0)
    assert [(c[1], c[2]) for c in full["checkins"]] == [(rsvp.id, 2)]
