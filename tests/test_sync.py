"""Door sync (services.sync): what devices store, incremental cursors, size, no personal data."""

from __future__ import annotations

import gzip
import json

import pytest
from conftest import campaign_of
from doorkit import bulk_tickets, door_session, make_door, make_ticket, nonce

from rallies.database import atomic, next_change_number
from rallies.extensions import db
from rallies.models import Rsvp
from rallies.services.admissions import undo_checkin
from rallies.services.checkin import check_in
from rallies.services.sync import sync_payload


@pytest.fixture
def door_setup(make_user, make_rally):
    rally = make_rally(campaign_of(make_user()))
    door = make_door(rally)
    return rally, door


def test_full_payload_has_key_tickets_revocations_and_no_personal_data(door_setup):
    rally, door = door_setup
    going, _ = make_ticket(rally, name="Maria Garcia", guests=2, email="maria@example.org")
    cancelled, _ = make_ticket(rally, name="Cal Cancel", status="cancelled")
    payload = sync_payload(rally.id, door.id)
    assert payload["full"] and payload["rally"]["public_key"]
    assert sorted(payload["tickets"]) == sorted([[going.id, "Maria G.", 3, "g", 0], [cancelled.id, "Cal C.", 1, "c", 0]])
    assert payload["revoked"] == [cancelled.id]
    text = json.dumps(payload)
    assert "example.org" not in text and "Garcia" not in text


def test_incremental_carries_only_changes_and_other_doors_checkins(door_setup):
    rally, door = door_setup
    west = make_door(rally, "West gate")
    ctx = door_session(west, device="West phone")[0]
    boss = door_session(west, role="supervisor", device="Boss")[0]
    quiet, _ = make_ticket(rally, name="Quiet One")
    scanned, code = make_ticket(rally, name="Scan Me")
    with atomic():  # both changed long ago
        db.session.execute(Rsvp.__table__.update().values(changed_seq=1))
        cursor = next_change_number()
    check_in(code, ctx, nonce=nonce())
    inc = sync_payload(rally.id, door.id, cursor)
    assert not inc["full"] and [t[0] for t in inc["tickets"]] == [scanned.id]
    assert inc["tickets"][0][4] == 1
    (checkin,) = inc["checkins"]
    assert checkin[1] == scanned.id and checkin[4] == "West gate" and checkin[5] == "West phone" and checkin[6] == 0
    undo_checkin(boss, rsvp_id=scanned.id, reason="mistake", nonce=nonce())
    again = sync_payload(rally.id, door.id, inc["cursor"])
    assert again["tickets"][0][4] == 0 and again["checkins"][0][6] == 1  # undone reaches the devices too
    assert quiet.id not in [t[0] for t in again["tickets"]]


def test_counter_style_cursors_need_no_overlap(door_setup):
    """Counter-style change numbers (older data, the demo's RSVPs): small cursors are taken exactly."""
    rally, door = door_setup
    a, _ = make_ticket(rally)
    b, _ = make_ticket(rally)
    with atomic():
        db.session.get(Rsvp, a.id).changed_seq = 5
        db.session.get(Rsvp, b.id).changed_seq = 6
    inc = sync_payload(rally.id, door.id, 5)
    assert [t[0] for t in inc["tickets"]] == [b.id] and inc["cursor"] == 6


def test_thirty_thousand_tickets_fit_in_well_under_a_megabyte(door_setup):
    rally, door = door_setup
    bulk_tickets(rally, 30_000)
    body = json.dumps(sync_payload(rally.id, door.id), separators=(",", ":")).encode()
    assert len(gzip.compress(body, 6)) < 1_000_000
