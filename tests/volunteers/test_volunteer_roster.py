"""Issue 14: the organizers' roster (filled and open places, who opened their link, who is scanning now),
its CSV export, and volunteers' scans logged under their names."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from rallies.database import atomic
from rallies.door import doors
from rallies.door.checkin import check_in
from rallies.extensions import db
from rallies.models import DoorSession, ScanLog, VolunteerSignup, utcnow
from rallies.volunteers.roster import roster
from rallies.volunteers.signups import cancel_signup
from tests.factories import (
    FORMULA_NAME,
    XSS_NAME,
    campaign_of,
    door_link,
    door_session,
    live_rally,
    make_door,
    make_shift,
    make_ticket,
    make_user,
    nonce,
    volunteer,
)
from tests.stored import outbox


@pytest.fixture
def world(app, client, login):
    """A live rally: North gate's shift (now, 3 places) with Ana scanning and Bo signed up; South gate's later
    shift (1 place) with nobody; a cancelled volunteer who must not show."""
    owner = make_user()
    rally = live_rally(campaign_of(owner))
    north, south = make_door(rally, "North gate"), make_door(rally, "South gate")
    now_shift = make_shift(rally, north, starts_at=utcnow() - timedelta(minutes=10), hours=2, slots=3)
    later = make_shift(rally, south, starts_at=utcnow() + timedelta(hours=1), hours=2, slots=1)
    ana = volunteer(now_shift, name="Ana Scanner", email="ana@example.org")
    bo = volunteer(now_shift, name="Bo Waiting", email="bo@example.org")
    gone = volunteer(now_shift, name="Cy Cancelled", email="cy@example.org")
    cancel_signup(db.session.get(VolunteerSignup, gone.signup_id))
    login(client, owner)
    return rally, now_shift, later, ana, bo


def _open_link(address: str):
    """Open the door link from the volunteer's email on a device; its (session, secret)."""
    import re

    from rallies.mail.outbox import run_renderer

    [row] = outbox("volunteer", to=address)
    secret = re.search(r"/door/l/([A-Za-z0-9_\-]{43})", run_renderer(row).text).group(1)
    with atomic():
        return doors.open_link(secret, "My phone")


def test_the_roster_counts_places_and_shows_who_opened_and_who_is_scanning(world, client):
    rally, now_shift, later, _ana, _bo = world
    _open_link("ana@example.org")
    items = {item.shift.id: item for item in roster(rally.id)}
    assert (items[now_shift.id].filled, items[now_shift.id].open) == (2, 1)
    assert (items[later.id].filled, items[later.id].open) == (0, 1)
    people = {v.name: v for v in items[now_shift.id].volunteers}
    assert set(people) == {"Ana Scanner", "Bo Waiting"}
    assert (people["Ana Scanner"].opened, people["Ana Scanner"].scanning) == (True, True)
    assert (people["Bo Waiting"].opened, people["Bo Waiting"].scanning) == (False, False)
    page = client.get(f"/organize/rallies/{rally.id}/shifts/").text
    assert f'data-shift="{now_shift.id}" data-filled="2" data-open="1"' in page
    assert f'data-shift="{later.id}" data-filled="0" data-open="1"' in page
    assert "Cy Cancelled" not in page and "ana@example.org" in page
    assert 'data-door="North gate" data-filled="2" data-open="1"' in page
    assert 'data-door="South gate" data-filled="0" data-open="1"' in page


def test_a_device_not_seen_for_a_while_is_not_scanning_now(world):
    rally, now_shift, _later, _ana, _bo = world
    session, _secret = _open_link("ana@example.org")
    with atomic():
        db.session.execute(sa.update(DoorSession).where(DoorSession.id == session.id)
                           .values(last_seen_at=utcnow() - timedelta(minutes=6)))
    [ana] = [v for v in roster(rally.id)[0].volunteers if v.name == "Ana Scanner"]
    assert ana.opened and not ana.scanning and ana.last_seen is not None
    with atomic():  # a signed-out device is not scanning either
        db.session.execute(sa.update(DoorSession).where(DoorSession.id == session.id)
                           .values(last_seen_at=utcnow(), revoked_at=utcnow()))
    [ana] = [v for v in roster(rally.id)[0].volunteers if v.name == "Ana Scanner"]
    assert ana.opened and not ana.scanning


def test_a_viewer_sees_the_roster_without_contacts(world, client, login):
    rally, *_ = world
    login(client, make_user(campaign=rally.campaign, role="viewer"))
    page = client.get(f"/organize/rallies/{rally.id}/shifts/").text
    assert "Ana Scanner" in page and "ana@example.org" not in page and "+13125550147" not in page


def test_roster_csv_lists_volunteers_and_open_places_safely(world, client):
    rally, now_shift, _later, _ana, _bo = world
    volunteer(now_shift, name=FORMULA_NAME, email="formula@example.com")
    resp = client.get(f"/organize/rallies/{rally.id}/shifts/roster.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(resp.text)))
    assert rows[0] == ["Shift starts", "Shift ends", "Door", "Role", "Volunteer", "Email", "Phone", "Opened link",
                       "Scanning now"]
    names = [r[4] for r in rows[1:]]
    assert names == ["Ana Scanner", "Bo Waiting", "'" + FORMULA_NAME, "(open)"]
    assert rows[1][2:4] == ["North gate", "scanner"] and rows[1][5:7] == ["ana@example.org", "'+13125550147"]  # csvsafe quotes a leading +
    assert rows[4][2] == "South gate"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_hostile_volunteer_names_are_escaped_on_the_roster(world, client):
    rally, now_shift, *_ = world
    volunteer(now_shift, name=XSS_NAME, email="zed@example.com")
    page = client.get(f"/organize/rallies/{rally.id}/shifts/").text
    assert XSS_NAME not in page and "Zed &lt;img src=x onerror=alert(2)&gt; Quux" in page


def test_a_volunteers_scans_are_logged_under_their_name(world, client):
    rally, now_shift, *_ = world
    session, secret = _open_link("ana@example.org")
    assert session.device_name == "Ana Scanner"
    _rsvp, code = make_ticket(rally)
    verdict = check_in(code, doors.authenticate(secret, now_shift.door_id), nonce=nonce())
    assert verdict.verdict == "admit"
    assert db.session.scalar(sa.select(ScanLog.device_name)) == "Ana Scanner"
    log = client.get(f"/door/rally/{rally.id}/log").text
    assert "Ana Scanner" in log


def test_the_scan_log_filters_by_volunteer(world, client):
    rally, now_shift, _later, ana, _bo = world
    _session, secret = _open_link("ana@example.org")
    other, _other_secret, _other_link = door_session(now_shift.door, device="Org phone")
    _rsvp, code = make_ticket(rally, name="Alma Ana")
    check_in(code, doors.authenticate(secret, now_shift.door_id), nonce=nonce())
    _rsvp, code = make_ticket(rally, name="Omar Other")
    check_in(code, other, nonce=nonce())
    link_id = db.session.get(VolunteerSignup, ana.signup_id).link_id
    page = client.get(f"/organize/rallies/{rally.id}/shifts/").text
    assert f"/door/rally/{rally.id}/log?link={link_id}" in page
    log = client.get(f"/door/rally/{rally.id}/log?link={link_id}").text
    assert "Alma A." in log and "Omar O." not in log and "Only scans by devices of the link" in log
    assert "Omar O." in client.get(f"/door/rally/{rally.id}/log").text
    foreign, _secret = door_link(make_door(live_rally(campaign_of(make_user())), "Elsewhere"))
    assert client.get(f"/door/rally/{rally.id}/log?link={foreign.id}").status_code == 404
