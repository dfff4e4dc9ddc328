"""Door sync (door.sync): what devices store, incremental cursors, size, no personal data."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from rallies.database import atomic
from rallies.door.admissions import admit_walkin, undo_checkin
from rallies.door.checkin import check_in
from rallies.door.sync import sync_payload
from rallies.extensions import db
from rallies.models import Checkin, Rally, Rsvp
from rallies.rallies.counters import next_change_number
from rallies.rsvp.rsvps import RsvpInput, cancel_rsvp, change_guests, create_or_update_rsvp
from rallies.rsvp.tickets import ticket_code
from tests.factories import bulk_tickets, campaign_of, door_session, live_rally, make_door, make_ticket, nonce
from tests.stored import fresh

# Not imported from conftest: tests/<domain>/conftest.py files would shadow the name.
IS_PG = os.environ.get("TEST_DATABASE_URL", "").startswith("postgres")


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
    assert sorted(payload["tickets"]) == sorted([[going.id, "Maria G.", 3, "g", 0, 0], [cancelled.id, "Cal C.", 1, "c", 0, 0]])
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
        cursor = next_change_number(rally.id)
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


@pytest.mark.slow
def test_thirty_thousand_tickets_fit_in_well_under_a_megabyte(door_setup):
    rally, door = door_setup
    bulk_tickets(rally, 30_000)
    body = json.dumps(sync_payload(rally.id, door.id), separators=(",", ":")).encode()
    assert len(gzip.compress(body, 6)) < 1_000_000


def test_cursor_is_one_read_of_tickets_and_their_checkins(door_setup):
    """An admission stamps only its check-in row: the sync finds the ticket through it, in the same statement
    that reads the tickets, and the cursor is the highest number of that one read."""
    rally, door = door_setup
    ctx = door_session(door)[0]
    ticket, code = make_ticket(rally)
    with atomic():
        since = next_change_number(rally.id)
    check_in(code, ctx, nonce=nonce())
    stamped = db.session.scalar(sa.select(Checkin.changed_seq).where(Checkin.rsvp_id == ticket.id))
    assert fresh(Rsvp, ticket.id).changed_seq < since < stamped  # the ticket row is not stamped again
    first = sync_payload(rally.id, door.id, since)
    assert [t[0] for t in first["tickets"]] == [ticket.id] and first["tickets"][0][4] == 1
    assert first["cursor"] == stamped and len(first["checkins"]) == 1
    again = sync_payload(rally.id, door.id, first["cursor"])
    assert again["tickets"] == [] and again["checkins"] == [] and again["cursor"] == first["cursor"]


def test_changes_are_numbered_by_the_rally_row(make_user):
    """Every write unit takes its change number from the rally's row, by the UPDATE that holds its lock until
    commit (so numbers follow commits), never from anywhere else."""
    rally = live_rally(campaign_of(make_user()))
    door = make_door(rally)
    boss = door_session(door, role="supervisor")[0]
    _ticket, code = make_ticket(rally, guests=1)
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()).lower())

    def numbered_by_the_rally_row(action) -> bool:
        statements.clear()
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            action()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        numbers = [s for s in statements if "change_seq=" in s]  # not rsvp's or checkin's changed_seq=
        return bool(numbers) and all(s.startswith("update rally set") and "change_seq=(rally.change_seq + " in s
                                     for s in numbers)

    made = {}
    assert numbered_by_the_rally_row(lambda: made.update(
        r=create_or_update_rsvp(rally, RsvpInput(name="Lock Order", email="lock@example.org"))))
    rsvp = db.session.get(Rsvp, made["r"].rsvp_id)
    assert numbered_by_the_rally_row(lambda: change_guests(rsvp, 1))
    assert numbered_by_the_rally_row(lambda: check_in(code, boss, nonce=nonce(), people=1))
    assert numbered_by_the_rally_row(lambda: undo_checkin(boss, rsvp_id=_ticket.id, reason="test", nonce=nonce()))
    assert numbered_by_the_rally_row(lambda: admit_walkin(boss, name="Walk In", nonce=nonce()))
    assert numbered_by_the_rally_row(lambda: cancel_rsvp(db.session.get(Rsvp, rsvp.id)))


def _worker(url: str, skew: str | None):
    """A clock_worker.py process on the test database, its clock shifted by libfaketime when skew is set."""
    here = Path(__file__).resolve().parent
    cmd = ([shutil.which("faketime"), "-f", skew] if skew else []) + [sys.executable, str(here / "clock_worker.py"), url]
    env = dict(os.environ, PYTHONPATH=f"{here.parent.parent}{os.pathsep}{here}")
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=here.parent.parent)


def _ask(proc, **command):
    proc.stdin.write(json.dumps(command) + "\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    assert line, "the worker process died"
    return json.loads(line)


@pytest.mark.slow
@pytest.mark.skipif(not IS_PG, reason="two app processes need a shared PostgreSQL")
@pytest.mark.skipif(shutil.which("faketime") is None, reason="needs libfaketime (apt-get install faketime)")
def test_incremental_sync_misses_nothing_when_app_clocks_differ_by_ten_minutes(door_setup, app):
    """Two app processes, one 10 minutes behind; a door device syncing incrementally still gets every change."""
    rally, door = door_setup
    secret = door_session(door, role="supervisor")[1]
    rally_id, door_id = rally.id, door.id
    db.session.commit()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    ahead, behind = _worker(url, None), _worker(url, "-10m")
    device_tickets, device_checkins = {}, {}
    cursor = 0

    def sync():
        nonlocal cursor
        payload = _ask(ahead, op="sync", rally=rally_id, door=door_id, since=cursor)
        device_tickets.update({t[0]: t for t in payload["tickets"]})
        device_checkins.update({c[0]: c for c in payload["checkins"]})
        cursor = payload["cursor"]

    try:
        ids = []
        for i in range(6):
            proc = ahead if i % 2 == 0 else behind
            ids.append(_ask(proc, op="rsvp", rally=rally_id, name=f"Skew {i}", email=f"skew{i}@example.org")["id"])
            sync()
        for i, rsvp_id in enumerate(ids):
            proc = behind if i % 2 == 0 else ahead
            code = ticket_code(db.session.get(Rally, rally_id), rsvp_id)
            verdict = _ask(proc, op="checkin", secret=secret, door=door_id, code=code, nonce=nonce())
            assert verdict["verdict"] == "admit"
            sync()
    finally:
        for proc in (ahead, behind):
            proc.stdin.close()
            proc.wait(timeout=30)
    db.session.rollback()
    full = sync_payload(rally_id, door_id)
    assert set(device_tickets) == set(ids) and sorted(device_tickets.values()) == sorted(full["tickets"])
    assert all(t[4] == 1 for t in device_tickets.values())
    assert sorted(device_checkins.values()) == sorted(full["checkins"]) and len(device_checkins) == 6
