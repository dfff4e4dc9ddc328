"""Door pages: organizer door management, door links (scope, expiry, revocation), roles, CSRF."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from rallies.database import atomic
from rallies.extensions import db
from rallies.models import DoorLink, DoorSession, Rally, utcnow
from tests.factories import campaign_of, door_session, make_door, make_ticket, nonce
from tests.web import bearer


@pytest.fixture
def org(make_user, make_rally, client, login):
    user = make_user()
    rally = make_rally(campaign_of(user), title="Chicago Rally")
    login(client, user)
    return user, rally


def test_organizer_creates_door_and_link_then_volunteer_opens_it(org, client, app):
    _user, rally = org
    resp = client.post(f"/door/rally/{rally.id}/doors", data={"name": "North gate", "lanes": 2})
    assert resp.status_code == 302
    door_id = db.session.scalar(db.select(DoorLink.id).limit(1))  # none yet
    assert door_id is None
    page = client.get(f"/door/rally/{rally.id}/").get_data(as_text=True)
    assert "North gate" in page
    from rallies.models import Door

    door = db.session.scalar(db.select(Door))
    resp = client.post(f"/door/rally/{rally.id}/links", data={"door_id": door.id, "role": "scanner", "valid_hours": 6})
    assert resp.status_code == 201 and "<svg" in resp.get_data(as_text=True)
    url = re.search(r'<textarea id="secret"[^>]*>(http[^<]+/door/l/[^<]+)</textarea>', resp.get_data(as_text=True)).group(1)
    path = url.split("localhost", 1)[1]
    volunteer = app.test_client()
    assert "Name this device" in volunteer.get(path).get_data(as_text=True)
    assert volunteer.post(path, data={"device_name": ""}).status_code == 422
    resp = volunteer.post(path, data={"device_name": "Sam's phone"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/door/{door.id}/")
    cookie = volunteer.get_cookie("door_session", path=f"/door/{door.id}/")
    assert cookie and cookie.http_only and cookie.same_site == "Strict"
    scanner = volunteer.get(f"/door/{door.id}/")
    assert scanner.status_code == 200 and "Sam&#39;s phone" in scanner.get_data(as_text=True)
    stored = db.session.scalar(db.select(DoorSession))
    assert stored.device_name == "Sam's phone" and cookie.value not in stored.token_hash


def test_expired_and_revoked_links_stop_at_next_request(org, client, app):
    _user, rally = org
    door = make_door(rally)
    ctx, secret, link_id = door_session(door)
    _rsvp, code = make_ticket(rally)
    ok = app.test_client().get(f"/door/{door.id}/api/status", headers=bearer(secret))
    assert ok.status_code == 200
    resp = client.post(f"/door/rally/{rally.id}/links/{link_id}/revoke")
    assert resp.status_code == 302
    denied = app.test_client().post(f"/door/{door.id}/api/checkin", json={"code": code, "nonce": nonce()},
                                    headers=bearer(secret))
    assert denied.status_code == 401 and denied.get_json()["error"]["code"] == "link_revoked"
    # The scanner page says so in words too.
    volunteer = app.test_client()
    volunteer.set_cookie("door_session", secret, path=f"/door/{door.id}/")
    page = volunteer.get(f"/door/{door.id}/")
    assert page.status_code == 401 and "revoked" in page.get_data(as_text=True)
    # Expired: a link whose expiry has passed.
    _ctx2, secret2, link2 = door_session(door, device="Phone 2")
    with atomic():
        db.session.get(DoorLink, link2).expires_at = utcnow() - timedelta(seconds=1)
    expired = app.test_client().get(f"/door/{door.id}/api/sync", headers=bearer(secret2))
    assert expired.status_code == 401 and expired.get_json()["error"]["code"] == "link_expired"


def test_link_of_another_rally_is_refused(org, app, make_rally):
    _user, rally = org
    other = make_rally(db.session.get(Rally, rally.id).campaign)
    other_door = make_door(other, "Other gate")
    door = make_door(rally)
    _ctx, other_secret, _ = door_session(other_door)
    # The other rally's session cannot act at this rally's door, by cookie or bearer.
    c = app.test_client()
    c.set_cookie("door_session", other_secret, path=f"/door/{door.id}/")
    assert c.get(f"/door/{door.id}/").status_code == 401
    resp = c.get(f"/door/{door.id}/api/status", headers=bearer(other_secret))
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "wrong_door"


def test_sign_out_ends_this_devices_session_at_this_door_only(org, app):
    _user, rally = org
    door, other_door = make_door(rally), make_door(rally, "South gate")
    _ctx, secret, _link = door_session(door)
    device = app.test_client()
    device.set_cookie("door_session", secret, path=f"/door/{other_door.id}/")
    assert device.post(f"/door/{other_door.id}/signout").status_code == 302
    db.session.expire_all()
    assert db.session.scalar(db.select(DoorSession.revoked_at)) is None, "a session of another door stays"
    device.set_cookie("door_session", secret, path=f"/door/{door.id}/")
    resp = device.post(f"/door/{door.id}/signout")
    assert resp.status_code == 302 and device.get_cookie("door_session", path=f"/door/{door.id}/") is None
    db.session.expire_all()
    assert db.session.scalar(db.select(DoorSession.revoked_at)) is not None
    assert device.get(f"/door/{door.id}/api/status", headers=bearer(secret)).status_code == 401


def test_unknown_link_is_a_clear_message(client):
    resp = client.get("/door/l/not-a-real-secret")
    assert resp.status_code == 403 and "not valid" in resp.get_data(as_text=True)


def test_organizer_scans_at_any_door_as_supervisor(org, client):
    user, rally = org
    door = make_door(rally)
    page = client.get(f"/door/{door.id}/")
    assert page.status_code == 200 and "can scan at any door" in page.get_data(as_text=True)
    resp = client.post(f"/door/{door.id}/start", data={"device_name": "Dana's laptop"})
    assert resp.status_code == 302
    session = db.session.scalar(db.select(DoorSession))
    assert session.role == "supervisor" and session.user_id == user.id and session.link_id is None


def test_another_campaign_cannot_manage_or_scan(org, app, make_user, login):
    _user, rally = org
    door = make_door(rally)
    stranger = make_user(campaign="Other campaign")
    c = app.test_client()
    login(c, stranger)
    assert c.get(f"/door/rally/{rally.id}/").status_code == 404
    assert c.post(f"/door/rally/{rally.id}/doors", data={"name": "Back door"}).status_code == 404
    assert c.get(f"/door/{door.id}/").status_code == 401
    assert c.post(f"/door/{door.id}/start", data={"device_name": "x"}).status_code == 404


def test_viewer_reads_log_but_cannot_make_links(org, app, make_user, login):
    _user, rally = org
    door = make_door(rally)
    viewer = make_user(campaign=db.session.get(Rally, rally.id).campaign, role="viewer")
    c = app.test_client()
    login(c, viewer)
    assert c.get(f"/door/rally/{rally.id}/log").status_code == 200
    assert c.get(f"/door/rally/{rally.id}/conflicts").status_code == 200
    resp = c.post(f"/door/rally/{rally.id}/links", data={"door_id": door.id, "role": "scanner", "valid_hours": 1})
    assert resp.status_code == 403


def test_api_token_for_third_party_device(org, client, app):
    _user, rally = org
    door = make_door(rally)
    resp = client.post(f"/door/rally/{rally.id}/tokens", data={"door_id": door.id, "role": "scanner",
                                                               "device_name": "Turnstile 3"})
    assert resp.status_code == 201
    token = re.search(r'<textarea id="secret"[^>]*>([^<]+)</textarea>', resp.get_data(as_text=True)).group(1)
    who = app.test_client().get("/api/v1/door/whoami", headers=bearer(token)).get_json()
    assert who["device"] == "Turnstile 3" and who["door"]["name"] == "North gate"
    session_id = db.session.scalar(db.select(DoorSession.id))
    client.post(f"/door/rally/{rally.id}/sessions/{session_id}/revoke")
    resp = app.test_client().get("/api/v1/door/whoami", headers=bearer(token))
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "session_revoked"


def test_scan_log_and_conflict_pages_show_scans(org, client):
    _user, rally = org
    door = make_door(rally)
    ctx, _secret, _ = door_session(door)
    from rallies.door.checkin import check_in

    _rsvp, code = make_ticket(rally)
    check_in(code, ctx, nonce=nonce(), offline=True)
    check_in(code, ctx, nonce=nonce(), offline=True)
    log = client.get(f"/door/rally/{rally.id}/log").get_data(as_text=True)
    assert "Phone 1" in log and "conflict" in log
    report = client.get(f"/door/rally/{rally.id}/conflicts").get_data(as_text=True)
    assert "Ana L." in report and "North gate" in report


def test_csrf_enforced_on_door_forms(org, app_factory, login):
    _user, rally = org
    strict = app_factory(WTF_CSRF_ENABLED=True)
    with strict.app_context():
        c = strict.test_client()
        login(c, _user)
        resp = c.post(f"/door/rally/{rally.id}/doors", data={"name": "Side door"})
        assert resp.status_code == 400
        # The JSON API is exempt from the form token but needs a bearer or the door header.
        resp = c.post("/api/v1/door/checkin", json={"code": "x", "nonce": nonce()})
        assert resp.status_code == 401


def test_service_worker_and_manifest(org, client):
    _user, rally = org
    door = make_door(rally)
    sw = client.get("/door/sw.js")
    assert sw.status_code == 200 and sw.headers["Service-Worker-Allowed"] == "/door/"
    assert "door/scanner.js" in sw.get_data(as_text=True)
    manifest = client.get(f"/door/{door.id}/manifest.webmanifest").get_json()
    assert manifest["start_url"] == f"/door/{door.id}/"


def test_log_paging_with_absurd_cursor_is_not_a_500(org, client):
    _user, rally = org
    resp = client.get(f"/door/rally/{rally.id}/log?before=99999999999999999999999")
    assert resp.status_code == 200
