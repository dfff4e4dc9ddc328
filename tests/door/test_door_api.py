"""The door JSON API through real HTTP: auth, verdicts, bad input, idempotency, the race proof."""

from __future__ import annotations

import gzip
import json
import threading
import uuid

import pytest

from rallies.database import atomic
from rallies.extensions import db
from rallies.models import Rally, Rsvp, ScanLog, utcnow
from rallies.rallies.counters import next_change_number
from tests.factories import bulk_tickets, campaign_of, door_session, live_rally, make_door, make_ticket, nonce
from tests.web import bearer, door_post


@pytest.fixture
def door_setup(make_user):
    user = make_user()
    # Doors open now: walk-ins are admitted only inside the rally's door window.
    rally = live_rally(campaign_of(user), title="Chicago Rally")
    door = make_door(rally)
    ctx, secret, link_id = door_session(door)
    return rally, door, secret, link_id


def test_checkin_admit_already_via_bearer_and_api_v1(client, door_setup):
    rally, door, secret, _ = door_setup
    _rsvp, code = make_ticket(rally)
    resp = door_post(client, door.id, "checkin", {"code": code, "nonce": nonce(), "client_time": 1_800_000_000_000}, secret)
    assert resp.status_code == 200 and resp.get_json()["verdict"] == "admit"
    resp = client.post("/api/v1/door/checkin", json={"code": code, "nonce": nonce()}, headers=bearer(secret))
    body = resp.get_json()
    assert body["verdict"] == "already" and body["previous"]["device"] == "Phone 1"


def test_cookie_session_needs_the_door_header_on_writes(client, door_setup):
    rally, door, secret, _ = door_setup
    _rsvp, code = make_ticket(rally)
    client.set_cookie("door_session", secret, path=f"/door/{door.id}/")
    body = json.dumps({"code": code, "nonce": nonce()})
    resp = client.post(f"/door/{door.id}/api/checkin", data=body, content_type="application/json")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "csrf_failed"
    resp = client.post(f"/door/{door.id}/api/checkin", data=body, content_type="application/json",
                       headers={"X-Door-Request": "1"})
    assert resp.get_json()["verdict"] == "admit"
    assert client.get(f"/door/{door.id}/api/status").get_json()["door"]["admitted"] == 1


def test_unauthenticated_and_wrong_door(client, door_setup, make_rally):
    rally, door, secret, _ = door_setup
    resp = client.post(f"/door/{door.id}/api/checkin", json={"code": "x", "nonce": nonce()})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthenticated"
    other = make_rally(db.session.get(Rally, rally.id).campaign)
    other_door = make_door(other, "Other gate")
    resp = door_post(client, other_door.id, "checkin", {"code": "x", "nonce": nonce()}, secret)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "wrong_door"
    resp = client.get("/api/v1/door/status", headers=bearer("not-a-token"))
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "session_unknown"


def test_wrong_rally_ticket(client, door_setup, make_rally):
    rally, door, secret, _ = door_setup
    other = make_rally(db.session.get(Rally, rally.id).campaign, title="Denver Rally")
    _r, code = make_ticket(other)
    body = door_post(client, door.id, "checkin", {"code": code, "nonce": nonce()}, secret).get_json()
    assert body["verdict"] == "wrong_rally" and body["rally"]["title"] == "Denver Rally"


@pytest.mark.parametrize("payload, status, code", [
    (b"{not json", 400, "invalid_json"),
    (b"[1, 2]", 400, "invalid_json"),
    (b'{"code": "x"}', 422, "invalid_nonce"),
    (b'{"code": "x", "nonce": "abcdefgh", "client_time": "yesterday"}', 422, "invalid_client_time"),
    (b'{"code": "x", "nonce": "abcdefgh", "people": "two"}', 422, "invalid_people"),
    (b'{"code": "x", "nonce": "abcdefgh", "people": 0}', 422, "invalid_people"),
    (b'{"code": "x", "nonce": "abcdefgh", "force": true}', 403, "forbidden"),
    (b'{"code": {"nested": 1}, "nonce": "abcdefgh"}', 422, "invalid_code"),
    (b'{"code": "x", "nonce": "abcdefgh", "force": "yes"}', 422, "invalid_force"),
    (b'{"code": "x", "nonce": "abcdefgh", "people": true}', 422, "invalid_people"),
    (b'{"ticket_id": 9223372036854775808, "nonce": "abcdefgh"}', 422, "invalid_ticket_id"),
    (b'{"code": "RT1\\u0000x", "nonce": "abcdefgh"}', 400, "invalid_text"),
    (b"\xff\xfe\x00\x01", 400, "invalid_json"),
])
def test_bad_requests_get_reason_codes(client, door_setup, payload, status, code):
    _rally, door, secret, _ = door_setup
    resp = client.post(f"/door/{door.id}/api/checkin", data=payload, content_type="application/json",
                       headers=bearer(secret))
    assert resp.status_code == status
    assert resp.get_json()["error"]["code"] == code


@pytest.mark.parametrize("code, reason", [
    ("", "empty_code"), ("A" * 100_000, "code_too_long"), ("{'nested': 1}", "malformed_code"),
    ("RT1" + "\u00e9" * 112, "malformed_code"), (None, "empty_code"),
])
def test_bad_codes_are_verdicts_not_errors(client, door_setup, code, reason):
    _rally, door, secret, _ = door_setup
    resp = door_post(client, door.id, "checkin", {"code": code, "nonce": nonce()}, secret)
    assert resp.status_code == 200
    assert resp.get_json()["verdict"] == "invalid" and resp.get_json()["reason"] == reason


def test_replayed_nonce_returns_stored_verdict(client, door_setup):
    rally, door, secret, _ = door_setup
    _rsvp, code = make_ticket(rally)
    n = nonce()
    first = door_post(client, door.id, "checkin", {"code": code, "nonce": n}, secret).get_json()
    again = door_post(client, door.id, "checkin", {"code": code, "nonce": n}, secret).get_json()
    assert first["verdict"] == again["verdict"] == "admit" and again["replayed"] and not first["replayed"]
    db.session.rollback()
    assert db.session.get(Rally, rally.id).checked_in_people == 1


def test_far_client_clock_is_flagged(client, door_setup):
    rally, door, secret, _ = door_setup
    _rsvp, code = make_ticket(rally)
    body = door_post(client, door.id, "checkin", {"code": code, "nonce": nonce(), "client_time": "2099-01-01T00:00:00Z"},
                secret).get_json()
    assert body["verdict"] == "admit" and body["flags"]["clock"] is True


def test_search_prefix_ignores_case_and_accents(client, door_setup):
    rally, door, secret, _ = door_setup
    make_ticket(rally, name="José Álvarez", email="jalvarez@example.org")
    make_ticket(rally, name="Joan Smith", email="joan@example.org")
    names = lambda q: [r["name"] for r in client.get(f"/door/{door.id}/api/search", query_string={"q": q},  # noqa: E731
                                                      headers=bearer(secret)).get_json()["results"]]
    assert names("JOSE") == ["José Á."]
    assert names("alv") == ["José Á."]
    assert names("jo") == ["Joan S.", "José Á."]
    assert names("joan@ex") == [] and names("jalvarez") == []  # names only, never emails
    assert names("j") == []  # too short
    assert names("%") == []
    body = client.get(f"/door/{door.id}/api/search?q=jose", headers=bearer(secret)).get_data(as_text=True)
    assert "example.org" not in body  # no emails leave the server


def test_walkin_party_undo_through_api(client, door_setup):
    rally, door, secret, _ = door_setup
    boss = door_session(door, role="supervisor", device="Boss")[1]
    resp = door_post(client, door.id, "walkin", {"name": "Walk In", "guests": 1, "nonce": nonce()}, secret)
    walk = resp.get_json()
    assert walk["verdict"] == "admit" and walk["admitted"] == 2 and walk["ticket"]["walkin"]
    rsvp, code = make_ticket(rally, guests=2)
    part = door_post(client, door.id, "checkin", {"code": code, "nonce": nonce(), "people": 2}, secret).get_json()
    assert part["admitted"] == 2 and part["ticket"]["remaining"] == 1
    denied = door_post(client, door.id, "undo", {"ticket_id": rsvp.id, "reason": "mistake", "nonce": nonce()}, secret)
    assert denied.status_code == 403 and denied.get_json()["error"]["code"] == "forbidden"
    undone = door_post(client, door.id, "undo", {"ticket_id": rsvp.id, "reason": "mistake", "nonce": nonce()}, boss)
    assert undone.get_json()["admitted"] == -2
    status = client.get(f"/door/{door.id}/api/status", headers=bearer(secret)).get_json()
    assert status["rally"]["admitted"] == 2 and status["rally"]["walkins"] == 2 and status["door"]["last5"] == 2
    log = client.get(f"/door/{door.id}/api/log", headers=bearer(secret)).get_json()["scans"]
    assert [s["verdict"] for s in log] == ["undo", "admit", "admit"] and log[0]["note"] == "mistake"


def test_sync_payload_full_and_incremental_without_personal_data(client, door_setup):
    rally, door, secret, _ = door_setup
    rsvp, code = make_ticket(rally, name="Maria Garcia", email="maria@example.org")
    make_ticket(rally, status="cancelled")
    resp = client.get(f"/door/{door.id}/api/sync", headers={**bearer(secret), "Accept-Encoding": "gzip"})
    raw = gzip.decompress(resp.data) if resp.headers.get("Content-Encoding") == "gzip" else resp.data
    full = json.loads(raw)
    assert full["full"] and len(full["tickets"]) == 2 and len(full["revoked"]) == 1
    assert full["rally"]["public_key"]
    assert "example.org" not in raw.decode() and "Garcia" not in raw.decode()
    with atomic():  # an old change, before the cursor
        db.session.execute(Rsvp.__table__.update().values(changed_seq=1))
        since = next_change_number(rally.id)  # a cursor from "now"
    door_post(client, door.id, "checkin", {"code": code, "nonce": nonce()}, secret)
    inc = client.get(f"/door/{door.id}/api/sync", query_string={"since": since}, headers=bearer(secret)).get_json()
    assert not inc["full"] and [t[0] for t in inc["tickets"]] == [rsvp.id] and inc["tickets"][0][4] == 1
    assert inc["checkins"][0][4] == "North gate" and inc["cursor"] > since


def test_offline_upload_accepts_and_flags(client, door_setup):
    rally, door, secret, _ = door_setup
    west = make_door(db.session.get(Rally, rally.id), "West gate")
    west_secret = door_session(west, device="West phone")[1]
    _rsvp, code = make_ticket(rally)
    now_ms = int(utcnow().timestamp() * 1000)
    # Twenty minutes old: made offline (a scan within the clock skew of now gets the online verdict).
    items = [{"code": code, "nonce": nonce(), "client_time": now_ms - 20 * 60_000, "device_verdict": "admit"}]
    r1 = door_post(client, door.id, "upload", {"scans": items}, secret).get_json()["results"]
    r2 = door_post(client, west.id, "upload", {"scans": [dict(items[0], nonce=nonce())]}, west_secret).get_json()["results"]
    again = door_post(client, door.id, "upload", {"scans": items}, secret).get_json()["results"]
    assert r1[0]["verdict"] == "admit" and not r1[0]["flags"]["conflict"]
    assert r2[0]["flags"]["conflict"] and again[0]["replayed"]
    bad = door_post(client, door.id, "upload", {"scans": [{"code": code}, "junk", {"kind": "walkin", "nonce": nonce()}]},
               secret).get_json()["results"]
    assert [b["error"]["code"] for b in bad] == ["invalid_nonce", "invalid_scan", "invalid_name"]
    db.session.rollback()
    assert db.session.get(Rally, rally.id).checked_in_people == 1
    assert db.session.scalar(db.select(db.func.count()).where(ScanLog.conflict.is_(True))) == 1


@pytest.mark.slow
def test_race_over_real_http_zero_double_admissions(live_server, make_user, make_rally):
    """300 tickets, each scanned by 3 clients at three doors at once, over HTTP: exactly 300 admits."""
    import requests

    with live_server.app.app_context():
        user = make_user()
        rally = make_rally(campaign_of(user))
        tickets = bulk_tickets(rally, 300)
        secrets_ = [door_session(make_door(rally, f"Gate {i}"), device=f"Phone {i}")[1] for i in range(3)]
        rally_id = rally.id
        db.session.remove()
    verdicts: list[str] = []
    barrier = threading.Barrier(3)

    def client(secret):
        with requests.Session() as http:
            http.headers.update(bearer(secret))
            barrier.wait()
            for _id, code in tickets:
                resp = http.post(f"{live_server.url}/api/v1/door/checkin", json={"code": code, "nonce": uuid.uuid4().hex},
                                 timeout=60)
                verdicts.append(resp.json()["verdict"])

    threads = [threading.Thread(target=client, args=(s,)) for s in secrets_]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert verdicts.count("admit") == 300 and verdicts.count("already") == 600
    with live_server.app.app_context():
        assert db.session.get(Rally, rally_id).checked_in_people == 300
        assert db.session.scalar(db.select(db.func.max(Rsvp.checked_in_people))) == 1


def test_out_of_range_ids_and_nul_search_are_4xx_not_500(client, door_setup):
    rally, door, secret, _ = door_setup
    boss = door_session(door, role="supervisor", device="Boss")[1]
    resp = door_post(client, door.id, "undo", {"ticket_id": 2**40, "reason": "x", "nonce": nonce()}, boss)
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "invalid_ticket_id"
    resp = door_post(client, door.id, "reduce", {"scan_id": 2**40, "keep": 1, "nonce": nonce()}, secret)
    assert resp.status_code == 200 and resp.get_json()["reason"] == "nothing_to_undo"
    resp = client.get(f"/door/{door.id}/api/search?q=ab%00cd", headers=bearer(secret))
    assert resp.status_code in (200, 400) and resp.is_json  # refused up front, or no match; never a 500
    resp = door_post(client, door.id, "checkin", {"ticket_id": 2**40, "nonce": nonce()}, secret)
    assert resp.status_code == 200 and resp.get_json()["verdict"] == "invalid"
