"""An expired door link may still upload what its device scanned offline before the expiry, for UPLOAD_GRACE.

The door service's clock is faked (as in tests/volunteers/test_volunteer_door_links.py) to move past a
link's expiry; the scans' device times are real ones, so the decision itself runs as it does today.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from rallies.door import doors
from rallies.door.api import COOKIE
from rallies.door.scan_input import CLOCK_SKEW
from rallies.extensions import db
from rallies.mail.outbox import run_renderer
from rallies.models import DoorLink, DoorSession, Rally, Rsvp, ScanLog, utcnow
from rallies.volunteers.shifts import LINK_MARGIN
from tests.factories import (
    campaign_of,
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
from tests.web import bearer, door_post


@pytest.fixture
def clock(monkeypatch):
    """clock(moment): the door service's clock reads moment (it alone decides whether a link has expired)."""
    def set_to(moment):
        monkeypatch.setattr(doors, "utcnow", lambda: moment)
    return set_to


@pytest.fixture
def door_setup(app):
    """A live rally, its door, and a scanner device whose link expires in an hour: (rally, door, secret, expiry)."""
    rally = live_rally(campaign_of(make_user()), capacity=50)
    door = make_door(rally)
    _ctx, secret, link_id = door_session(door, hours=1)
    return rally, door, secret, db.session.get(DoorLink, link_id).expires_at


def _item(code: str, at: datetime | None, **fields) -> dict:
    """An entry the device decided offline, as the scanner page queues it (device time to the microsecond)."""
    item = {"code": code, "nonce": nonce(), "offline": True, "device_verdict": "admit", **fields}
    if at is not None:
        item["client_time"] = at.isoformat()
    return item


def _upload(client, door, secret, items, v1=False):
    if v1:
        return client.post("/api/v1/door/upload", json={"scans": items}, headers=bearer(secret))
    return door_post(client, door.id, "upload", {"scans": items}, secret)


def _checked_in(rally_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Rally, rally_id).checked_in_people


def _logged(nonces) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ScanLog).where(ScanLog.nonce.in_(list(nonces))))


@pytest.mark.parametrize("v1", [False, True], ids=["scanner", "api_v1"])
def test_scans_made_before_the_expiry_count_once_when_uploaded_after_it(client, door_setup, clock, v1):
    rally, door, secret, expires = door_setup
    (_a, code_a), (_b, code_b) = make_ticket(rally, name="Ana"), make_ticket(rally, name="Ben")
    items = [_item(code_a, utcnow()), _item(code_b, expires + CLOCK_SKEW)]  # the allowance still counts
    clock(expires + timedelta(hours=3))  # the phone found a network three hours after the link expired
    first = _upload(client, door, secret, items, v1)
    assert first.status_code == 200
    assert [(r["ok"], r["verdict"], r["admitted"], r["replayed"]) for r in first.get_json()["results"]] == [
        (True, "admit", 1, False), (True, "admit", 1, False)]
    # The answer was lost on the way: the same upload again, later still, counts nothing twice.
    clock(expires + timedelta(hours=5))
    again = _upload(client, door, secret, items, not v1).get_json()["results"]
    assert [(r["ok"], r["verdict"], r["replayed"]) for r in again] == [(True, "admit", True)] * 2
    assert _checked_in(rally.id) == 2
    assert _logged(i["nonce"] for i in items) == 2


def test_scans_made_after_the_expiry_are_refused_one_by_one_and_count_nothing(client, door_setup, clock, caplog):
    rally, door, secret, expires = door_setup
    (before_rsvp, before), (late_rsvp, late) = make_ticket(rally, name="Ana"), make_ticket(rally, name="Ben")
    _c, untimed = make_ticket(rally, name="Chen")
    walkin = {"kind": "walkin", "name": "Dana Late", "nonce": nonce(), "offline": True,
              "client_time": (expires + timedelta(hours=1)).isoformat()}
    exit_ = _item(before, expires + CLOCK_SKEW + timedelta(microseconds=1), direction="exit")
    items = [_item(before, utcnow()), _item(late, expires + CLOCK_SKEW + timedelta(microseconds=1)),
             _item(untimed, None), walkin, exit_]
    clock(expires + timedelta(hours=2))
    with caplog.at_level(logging.WARNING, logger="rallies.door.api"):
        results = _upload(client, door, secret, items).get_json()["results"]
    assert results[0]["ok"] and results[0]["verdict"] == "admit"
    refused = results[1:]
    assert [r["nonce"] for r in refused] == [i["nonce"] for i in items[1:]]
    assert all(not r["ok"] and r["error"]["code"] == "scanned_after_expiry" for r in refused)
    assert "expired" in refused[0]["error"]["message"] and "no time" in refused[1]["error"]["message"]
    assert all("verdict" not in r for r in refused)
    # Nothing of them counted: one admitted, no walk-in made, no exit, no log row taken.
    assert _checked_in(rally.id) == 1
    assert db.session.get(Rsvp, before_rsvp.id).outside_people == 0
    assert db.session.get(Rsvp, late_rsvp.id).checked_in_people == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rsvp).where(Rsvp.rally_id == rally.id)) == 3
    assert _logged(i["nonce"] for i in items[1:]) == 0
    logged = [r.getMessage() for r in caplog.records if "scanned after the link expired" in r.getMessage()]
    assert len(logged) == 4 and items[1]["nonce"] in logged[0]
    # Retried, still refused; still nothing counted.
    again = _upload(client, door, secret, items).get_json()["results"]
    assert again[0]["replayed"] and [r["ok"] for r in again[1:]] == [False] * 4
    assert _checked_in(rally.id) == 1


def test_before_the_expiry_an_upload_is_decided_as_today(client, door_setup, clock):
    """A device clock ahead of the expiry, on a link that has not expired: flagged and counted, as before."""
    rally, door, secret, expires = door_setup
    _r, code = make_ticket(rally)
    clock(expires - timedelta(seconds=1))
    [result] = _upload(client, door, secret, [_item(code, expires + timedelta(hours=1))]).get_json()["results"]
    assert result["ok"] and result["verdict"] == "admit" and result["flags"]["clock"]
    assert _checked_in(rally.id) == 1


def _door_api_rules(app):
    """Every door JSON route but the upload: (method, URL template with {door})."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("door.api_", "api.door_")) and not rule.rule.endswith("/upload"):
            yield "POST" if "POST" in rule.methods else "GET", rule.rule.replace("<int:door_id>", "{door}")


def test_every_other_endpoint_still_refuses_the_expired_link(app, client, door_setup, clock):
    rally, door, secret, expires = door_setup
    _r, code = make_ticket(rally)
    clock(expires)  # the very moment it expires
    rules = list(_door_api_rules(app))
    assert len(rules) >= 18
    for method, template in rules:
        url = template.format(door=door.id)
        body = {"code": code, "nonce": nonce(), "name": "Walk In", "ticket_id": 1, "reason": "x", "scan_id": 1,
                "keep": 1}
        resp = (client.post(url, json=body, headers=bearer(secret)) if method == "POST"
                else client.get(url, query_string={"q": "An", "since": 0}, headers=bearer(secret)))
        assert resp.status_code == 401, url
        assert resp.get_json()["error"]["code"] == "link_expired", url
    assert _upload(client, door, secret, [_item(code, utcnow())]).status_code == 200
    assert _checked_in(rally.id) == 1


def test_a_revoked_link_or_device_cannot_upload_even_within_the_grace(client, door_setup, clock):
    rally, door, secret, expires = door_setup
    _ctx, other, _link = door_session(door, device="Phone 2", hours=1)
    _r, code = make_ticket(rally)
    doors.revoke_session(db.session.scalar(sa.select(DoorSession).where(DoorSession.device_name == "Phone 2")))
    doors.revoke_link(db.session.scalar(sa.select(DoorLink).where(DoorLink.expires_at == expires)))
    clock(expires + timedelta(hours=1))
    for device, why in ((secret, "link_revoked"), (other, "session_revoked")):
        for v1 in (False, True):
            resp = _upload(client, door, device, [_item(code, utcnow())], v1)
            assert resp.status_code == 401 and resp.get_json()["error"]["code"] == why
    assert _checked_in(rally.id) == 0


def test_after_the_grace_the_upload_is_refused(client, door_setup, clock):
    rally, door, secret, expires = door_setup
    _r, code = make_ticket(rally)
    item = _item(code, utcnow())
    clock(expires + doors.UPLOAD_GRACE)
    for v1 in (False, True):
        resp = _upload(client, door, secret, [item], v1)
        assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "link_expired"
    assert _checked_in(rally.id) == 0 and _logged([item["nonce"]]) == 0
    clock(expires + doors.UPLOAD_GRACE - timedelta(seconds=1))
    assert _upload(client, door, secret, [item]).get_json()["results"][0]["admitted"] == 1


def test_a_link_not_open_yet_is_not_helped(client, door_setup, clock):
    rally, door, _secret, _expires = door_setup
    opens = utcnow() + timedelta(hours=1)
    _link, link_secret = doors.create_link(door, "scanner", opens + timedelta(hours=1), not_before=opens)
    clock(opens)
    _session, device = doors.open_link(link_secret, "Early phone")
    _r, code = make_ticket(rally)
    clock(opens - timedelta(minutes=1))
    resp = _upload(client, door, device, [_item(code, utcnow())])
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "link_not_yet"


def test_a_volunteer_uploads_her_shift_scans_after_her_link_expired(client, clock):
    """End to end: the link in her email, the scanner's cookie, scans offline in her shift, home hours later."""
    rally = live_rally(campaign_of(make_user()), capacity=50)
    shift = make_shift(rally, make_door(rally, "North gate"), starts_at=utcnow() + timedelta(minutes=10), hours=1,
                       slots=1)
    volunteer(shift, name="Vera Volunteer", email="vera@example.org")
    [mail] = outbox("volunteer", to="vera@example.org")
    secret = re.search(r"/door/l/([A-Za-z0-9_\-]{43})", run_renderer(mail).text).group(1)
    opened = client.post(f"/door/l/{secret}", data={"device_name": "Some phone"})
    assert opened.status_code == 302
    cookie = re.search(rf"{COOKIE}=([^;]+)", opened.headers["Set-Cookie"]).group(1)
    client.set_cookie(COOKIE, cookie, path=f"/door/{shift.door_id}/")
    (ana_rsvp, ana), (ben_rsvp, ben) = make_ticket(rally, name="Ana"), make_ticket(rally, name="Ben")
    expires = shift.ends_at + LINK_MARGIN
    assert db.session.scalar(sa.select(DoorLink.expires_at).where(DoorLink.holder_name == "Vera Volunteer")) == expires
    items = [_item(ana, utcnow()), _item(ben, expires + timedelta(minutes=20))]
    clock(expires + timedelta(hours=6))
    headers = {"X-Door-Request": "1"}
    url = f"/door/{shift.door_id}/api/upload"
    results = client.post(url, json={"scans": items}, headers=headers).get_json()["results"]
    assert results[0]["ok"] and results[0]["admitted"] == 1
    assert not results[1]["ok"] and results[1]["error"]["code"] == "scanned_after_expiry"
    again = client.post(url, json={"scans": items}, headers=headers).get_json()["results"]
    assert again[0]["replayed"] and not again[1]["ok"]
    db.session.expire_all()
    assert db.session.get(Rsvp, ana_rsvp.id).checked_in_people == 1
    assert db.session.get(Rsvp, ben_rsvp.id).checked_in_people == 0
    assert db.session.scalar(sa.select(ScanLog.device_name).where(ScanLog.nonce == items[0]["nonce"])) == "Vera Volunteer"
    # Everything else on her phone stays closed.
    status = client.get(f"/door/{shift.door_id}/api/status")
    assert status.status_code == 401 and status.get_json()["error"]["code"] == "link_expired"
    checkin = client.post(f"/door/{shift.door_id}/api/checkin", json={"code": ben, "nonce": nonce()}, headers=headers)
    assert checkin.status_code == 401 and checkin.get_json()["error"]["code"] == "link_expired"
    clock(expires + doors.UPLOAD_GRACE)
    late = client.post(url, json={"scans": [_item(ben, utcnow())]}, headers=headers)
    assert late.status_code == 401 and late.get_json()["error"]["code"] == "link_expired"
    assert db.session.get(Rally, rally.id).checked_in_people == 1
