"""static/openapi/door.yaml against the real API: schemathesis generates requests from the document
and checks every answer (status, content type, body) against it.

Bounded: a few examples per operation, derandomized (a fixed seed), so CI runs the same cases each
time. Every operation is called as a supervisor through the bearer-token API, with the rally's
doors open, so walk-ins and undo are reachable.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings

from rallies.door import doors
from rallies.extensions import db
from rallies.models import DoorLink, utcnow
from tests.factories import campaign_of, door_session, live_rally, make_door, make_ticket, nonce

DOC = Path(__file__).resolve().parent.parent.parent / "static" / "openapi" / "door.yaml"


@pytest.fixture
def supervisor(app, make_user):
    """A bearer token for a supervisor at a door whose rally is open now, with a few tickets."""
    user = make_user()
    rally = live_rally(campaign_of(user), capacity=50)
    door = make_door(rally)
    for name in ("Ana López", "Ben Okafor", "Chen Wei"):
        make_ticket(rally, name=name, guests=1)
    _ctx, secret, _link = door_session(door, role="supervisor")
    return secret


def test_door_api_matches_its_document(app, supervisor):
    """Every operation, a few generated requests each; any answer the document does not describe fails."""
    schema = schemathesis.openapi.from_wsgi("/static/openapi/door.yaml", app)
    # identity: the in-process client does not undo gzip (sync compresses big answers when asked).
    headers = {"Authorization": f"Bearer {supervisor}", "Accept-Encoding": "identity"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 10

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=6, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(headers=headers)

        check()


def test_document_lists_every_door_route(app):
    """Each /api/v1/door route is in the document, and the document names no route that does not exist."""
    documented = set(yaml.safe_load(DOC.read_text())["paths"])
    served = {rule.rule.removeprefix("/api/v1/door") for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1/door/")}
    assert documented == served


def test_document_states_the_upload_grace_after_a_link_expired():
    """The grace an expired link keeps for /upload, and the item error it brings, are the ones the code uses."""
    doc = yaml.safe_load(DOC.read_text())
    upload = doc["paths"]["/upload"]["post"]["description"]
    hours = int(doors.UPLOAD_GRACE.total_seconds() // 3600)
    assert f"{hours} hours after the expiry" in upload and "`scanned_after_expiry`" in upload


def test_an_upload_refused_after_the_expiry_matches_the_document(app, make_user, monkeypatch):
    """An item refused because it was scanned after the link expired is an answer the document describes."""
    rally = live_rally(campaign_of(make_user()), capacity=50)
    _ctx, secret, link_id = door_session(make_door(rally), hours=1)
    _rsvp, code = make_ticket(rally)
    expires = db.session.get(DoorLink, link_id).expires_at
    monkeypatch.setattr(doors, "utcnow", lambda: expires + timedelta(hours=1))
    schema = schemathesis.openapi.from_wsgi("/static/openapi/door.yaml", app)
    scans = [{"code": code, "nonce": nonce(), "offline": True, "client_time": utcnow().isoformat()},
             {"code": code, "nonce": nonce(), "offline": True, "client_time": (expires + timedelta(hours=1)).isoformat()}]
    resp = app.test_client().post("/api/v1/door/upload", json={"scans": scans},
                                  headers={"Authorization": f"Bearer {secret}"})
    results = resp.get_json()["results"]
    assert results[0]["ok"] and results[1]["error"]["code"] == "scanned_after_expiry"
    schema["/upload"]["POST"].validate_response(resp)
