"""Issue 14: a volunteer's confirmation email, their own door link that opens only around their shift, and cancelling."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from rallies.door import doors
from rallies.extensions import db
from rallies.mail.outbox import NothingToSend, run_renderer
from rallies.models import DoorLink, DoorSession, Shift, VolunteerSignup, utcnow
from rallies.volunteers.shifts import LINK_MARGIN
from tests.factories import campaign_of, make_door, make_rally, make_shift, make_ticket, make_user, volunteer
from tests.stored import fresh, outbox
from tests.web import bearer


@pytest.fixture
def setup(app):
    """A shift at North gate that starts in three hours and lasts two, with Vera signed up."""
    rally = make_rally(campaign_of(make_user()), starts_at=utcnow() + timedelta(hours=4))
    shift = make_shift(rally, make_door(rally, "North gate"), starts_at=utcnow() + timedelta(hours=3), hours=2,
                       slots=1, notes="Bring a charged phone")
    result = volunteer(shift, name="Vera Volunteer", email="vera@example.org")
    return rally, shift, result


def _email(to="vera@example.org"):
    [row] = outbox("volunteer", to=to)
    return run_renderer(row)


def _secret(text: str) -> str:
    return re.search(r"/door/l/([A-Za-z0-9_\-]{43})", text).group(1)


@pytest.fixture
def clock(monkeypatch):
    """clock(moment): the door service's clock reads moment (the app's one clock for door links)."""
    def set_to(moment):
        monkeypatch.setattr(doors, "utcnow", lambda: moment)
    return set_to


def test_the_confirmation_email_carries_the_shift_and_an_own_door_link(setup):
    rally, shift, result = setup
    mail = _email()
    assert "Your volunteer shift" in mail.subject and rally.title in mail.subject
    for text in (mail.text, mail.html):
        assert "North gate" in text and "Scanner" in text and "Bring a charged phone" in text
        assert re.search(r"C[DS]T", text)  # the rally's zone, named
        assert f"/volunteer/s/{result.token}/cancel" in text
    secret = _secret(mail.text)
    link = doors.find_link(secret)
    signup = db.session.get(VolunteerSignup, result.signup_id)
    assert link is not None and link.id == signup.link_id and link.holder_name == "Vera Volunteer"


def test_opened_early_the_link_says_when_the_shift_is_instead_of_opening_the_scanner(setup, client):
    rally, shift, _result = setup
    secret = _secret(_email().text)
    for resp in (client.get(f"/door/l/{secret}"), client.post(f"/door/l/{secret}", data={"device_name": "x"})):
        assert resp.status_code == 403
        assert "not open yet" in resp.text and 'data-code="link_not_yet"' in resp.text
        assert "Your shift at North gate" in resp.text and re.search(r"C[DS]T", resp.text)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DoorSession)) == 0
    with pytest.raises(doors.DoorAccessError) as err:
        doors.open_link(secret, "Phone")
    assert err.value.code == "link_not_yet"


def test_the_link_opens_the_scanner_from_30_minutes_before_the_shift_to_30_after(setup, client, clock):
    _rally, shift, _result = setup
    secret = _secret(_email().text)
    clock(shift.starts_at - LINK_MARGIN - timedelta(seconds=1))
    assert client.get(f"/door/l/{secret}").status_code == 403
    clock(shift.starts_at - LINK_MARGIN + timedelta(seconds=1))
    page = client.get(f"/door/l/{secret}")
    assert page.status_code == 200 and 'value="Vera Volunteer"' in page.text
    resp = client.post(f"/door/l/{secret}", data={"device_name": "Some phone"})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/door/{shift.door_id}/"
    # Her scans are logged under her name, whatever she called the device.
    assert db.session.scalar(sa.select(DoorSession.device_name)) == "Vera Volunteer"
    clock(shift.ends_at + LINK_MARGIN - timedelta(seconds=1))
    assert client.get(f"/door/l/{secret}").status_code == 200
    clock(shift.ends_at + LINK_MARGIN)
    late = client.get(f"/door/l/{secret}")
    assert late.status_code == 403 and 'data-code="link_expired"' in late.text and "Your shift at North gate" in late.text


def test_the_door_api_refuses_a_volunteer_device_outside_the_window(setup, client, clock):
    _rally, shift, _result = setup
    secret = _secret(_email().text)
    clock(shift.starts_at)
    _session, device = doors.open_link(secret, "Phone")
    assert client.get(f"/door/{shift.door_id}/api/status", headers=bearer(device)).status_code == 200
    clock(shift.starts_at - LINK_MARGIN - timedelta(minutes=1))  # the device's session, before the window
    resp = client.get(f"/door/{shift.door_id}/api/status", headers=bearer(device))
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "link_not_yet"
    clock(shift.ends_at + LINK_MARGIN + timedelta(minutes=1))
    resp = client.get(f"/door/{shift.door_id}/api/status", headers=bearer(device))
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "link_expired"


def test_cancel_from_the_email_frees_the_place_and_revokes_the_link(setup, client, clock):
    rally, shift, result = setup
    secret = _secret(_email().text)
    clock(shift.starts_at)
    _session, device = doors.open_link(secret, "Phone")
    ask = client.get(f"/volunteer/s/{result.token}/cancel")
    assert ask.status_code == 200 and "Cancel your shift?" in ask.text
    assert fresh(Shift, shift.id).filled == 1  # a GET (a mail scanner following links) changes nothing
    done = client.post(f"/volunteer/s/{result.token}/cancel")
    assert done.status_code == 303
    assert fresh(Shift, shift.id).filled == 0
    signup = fresh(VolunteerSignup, result.signup_id)
    assert signup.status == "cancelled" and signup.cancelled_at is not None
    assert db.session.get(DoorLink, signup.link_id).revoked_at is not None
    resp = client.get(f"/door/{shift.door_id}/api/status", headers=bearer(device))
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "link_revoked"
    assert client.get(f"/door/l/{secret}").status_code == 403
    # Twice is harmless, and the freed place can be taken.
    assert client.post(f"/volunteer/s/{result.token}/cancel").status_code == 303
    assert fresh(Shift, shift.id).filled == 0
    volunteer(shift, email="next@example.org")
    assert fresh(Shift, shift.id).filled == 1
    # The queued confirmation of a cancelled sign-up is never sent.
    with pytest.raises(NothingToSend):
        _email()


def test_signing_up_again_after_cancelling_gives_a_new_link(setup, client):
    rally, shift, result = setup
    old = fresh(VolunteerSignup, result.signup_id).link_id
    client.post(f"/volunteer/s/{result.token}/cancel")
    resp = client.post(f"/volunteer/r/{rally.slug}", data={"shift_id": shift.id, "name": "Vera Volunteer",
                                                            "email": "vera@example.org", "phone": "3125550147"})
    assert resp.status_code == 303
    signup = fresh(VolunteerSignup, result.signup_id)
    assert signup.status == "active" and signup.link_id != old
    assert db.session.get(DoorLink, old).revoked_at is not None
    assert client.get(f"/volunteer/s/{result.token}").status_code == 404  # the old page token is replaced
    assert len(outbox("volunteer", to="vera@example.org")) == 2


def test_other_tokens_open_no_volunteer_page(setup, client):
    rally, shift, result = setup
    other = volunteer(make_shift(rally), email="other@example.org")
    ticket = make_ticket(rally)[0]
    from rallies.keys.link_secrets import page_token

    for token in ("A" * 43, page_token(ticket), result.token[:-1] + ("B" if result.token[-1] != "B" else "C"),
                  "short", "x" * 300):
        assert client.get(f"/volunteer/s/{token}").status_code == 404, token
        assert client.post(f"/volunteer/s/{token}/cancel").status_code == 404, token
    # One volunteer's token cancels only their own shift.
    client.post(f"/volunteer/s/{other.token}/cancel")
    assert fresh(VolunteerSignup, result.signup_id).status == "active"
    assert fresh(VolunteerSignup, other.signup_id).status == "cancelled"


def test_cancel_needs_the_forms_csrf_token(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        rally = make_rally(campaign_of(make_user()))
        shift = make_shift(rally)
        result = volunteer(shift)
        client = app.test_client()
        resp = client.post(f"/volunteer/s/{result.token}/cancel")
        assert resp.status_code == 400
        assert fresh(VolunteerSignup, result.signup_id).status == "active"
        page = client.get(f"/volunteer/s/{result.token}/cancel").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        # The test client speaks https (PREFERRED_URL_SCHEME), where Flask-WTF also checks the Referer.
        resp = client.post(f"/volunteer/s/{result.token}/cancel", data={"csrf_token": token},
                           headers={"Referer": f"https://localhost/volunteer/s/{result.token}/cancel"})
        assert resp.status_code == 303
        assert fresh(VolunteerSignup, result.signup_id).status == "cancelled"
