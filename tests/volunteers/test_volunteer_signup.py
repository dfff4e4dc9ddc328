"""Issue 14: the public volunteer page, sign-up without an account, full shifts, repeats and the last-place race."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from rallies.extensions import db
from rallies.mail.outbox import run_renderer
from rallies.models import DoorLink, Shift, VolunteerSignup, utcnow
from rallies.volunteers.shifts import LINK_MARGIN
from rallies.volunteers.signups import ShiftFull, SignupError, VolunteerInput, sign_up
from tests.factories import XSS_NAME, campaign_of, make_door, make_rally, make_shift, make_user, volunteer
from tests.stored import fresh, outbox


@pytest.fixture
def rally(app):
    return make_rally(campaign_of(make_user()))


def _post(client, rally, shift, **over):
    data = {"shift_id": str(shift.id), "name": "Vera Volunteer", "email": "vera@example.org", "phone": "(312) 555-0147"}
    data.update(over)
    return client.post(f"/volunteer/r/{rally.slug}", data=data)


def _signups(shift_id=None):
    db.session.expire_all()
    q = sa.select(VolunteerSignup).order_by(VolunteerSignup.id)
    if shift_id:
        q = q.where(VolunteerSignup.shift_id == shift_id)
    return db.session.scalars(q).all()


def test_the_rally_page_links_the_volunteer_page_which_lists_open_shifts_in_the_rallys_zone(client, rally):
    assert "Volunteer at the doors" not in client.get(f"/r/{rally.slug}").text  # no shifts yet
    shift = make_shift(rally, make_door(rally, "North gate"), slots=2, notes="Bring a charged phone")
    page = client.get(f"/r/{rally.slug}").text
    assert f'href="/volunteer/r/{rally.slug}"' in page
    page = client.get(f"/volunteer/r/{rally.slug}").text
    assert "North gate" in page and "2 places open" in page and "Bring a charged phone" in page
    assert re.search(r"C[DS]T", page)  # times in Chicago's zone, zone named
    assert f'value="{shift.id}"' in page


def test_a_volunteer_signs_up_without_an_account(client, rally):
    shift = make_shift(rally, slots=2, role="supervisor")
    resp = _post(client, rally, shift, email="  Vera@Example.org ")
    assert resp.status_code == 303 and resp.headers["Location"].startswith("/volunteer/s/")
    [signup] = _signups()
    assert (signup.name, signup.email, signup.phone, signup.status) == ("Vera Volunteer", "vera@example.org",
                                                                         "+13125550147", "active")
    assert fresh(Shift, shift.id).filled == 1
    link = db.session.get(DoorLink, signup.link_id)
    assert (link.door_id, link.role, link.holder_name) == (shift.door_id, "supervisor", "Vera Volunteer")
    assert (link.not_before, link.expires_at) == (shift.starts_at - LINK_MARGIN, shift.ends_at + LINK_MARGIN)
    [mail] = outbox("volunteer", to="vera@example.org")
    assert mail.render_as == "volunteer"
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200 and "Vera Volunteer" in page.text


def test_bad_input_is_refused_next_to_the_field(client, rally):
    shift = make_shift(rally)
    for over, words in (({"phone": "12"}, "phone number"), ({"phone": ""}, "phone number the door team"),
                        ({"email": "nope"}, "valid email"), ({"name": ""}, "Enter your name"),
                        ({"shift_id": ""}, "Choose a shift")):
        resp = _post(client, rally, shift, **over)
        assert resp.status_code == 422 and words in resp.text, over
    assert _signups() == [] and fresh(Shift, shift.id).filled == 0


def test_a_full_shift_takes_no_more_signups(client, rally):
    shift = make_shift(rally, slots=1)
    assert _post(client, rally, shift, email="first@example.org").status_code == 303
    resp = _post(client, rally, shift, email="second@example.org")
    assert resp.status_code == 409 and "this shift is full" in resp.text
    assert fresh(Shift, shift.id).filled == 1 and len(_signups()) == 1
    # A full shift is no longer offered.
    assert f'value="{shift.id}"' not in client.get(f"/volunteer/r/{rally.slug}").text


def test_the_same_email_twice_for_a_shift_is_one_signup(client, rally, monkeypatch):
    from rallies.volunteers import mail

    moment = utcnow()
    monkeypatch.setattr(mail, "utcnow", lambda: moment)  # one hour's resend key, whenever the test runs
    shift = make_shift(rally, slots=3)
    first = _post(client, rally, shift, email="vera@example.org")
    again = _post(client, rally, shift, email="VERA+door@example.org")  # the same mailbox
    assert first.status_code == again.status_code == 303
    assert "/volunteer/s/" not in again.headers["Location"]  # a repeat reveals no page token
    assert "emailed your door link again" in client.get(again.headers["Location"]).text
    assert len(_signups()) == 1 and fresh(Shift, shift.id).filled == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DoorLink)) == 1
    # The link goes again to the mailbox (not to whoever typed the address), at most once an hour.
    assert _post(client, rally, shift, email="vera@example.org").status_code == 303
    assert [r.to_addr for r in outbox("volunteer")] == ["vera@example.org", "vera@example.org"]


def test_another_shift_or_rally_or_over_shift_cannot_be_taken(client, rally):
    other = make_shift(make_rally(rally.campaign))
    resp = _post(client, rally, other)
    assert resp.status_code == 422 and "Choose one of the shifts listed" in resp.text
    over = make_shift(rally, starts_at=utcnow() - timedelta(hours=5), hours=2)
    assert "This shift is over" in _post(client, rally, over).text
    assert _post(client, rally, other, shift_id="99999999999").status_code == 422
    assert _signups() == []


def test_a_cancelled_or_draft_rallys_volunteer_page(client, rally):
    shift = make_shift(rally)
    with db.session.begin_nested():
        rally.status = "cancelled"
    db.session.commit()
    assert "has been cancelled" in _post(client, rally, shift).text
    draft = make_rally(rally.campaign, visibility="draft")
    assert client.get(f"/volunteer/r/{draft.slug}").status_code == 404


def test_deterministic_last_place(rally):
    """Two sign-ups for the last place, one after the other: the second is refused and nothing moves."""
    shift = make_shift(rally, slots=2)
    volunteer(shift, email="a@example.org")
    volunteer(shift, email="b@example.org")
    with pytest.raises(ShiftFull):
        volunteer(shift, email="c@example.org")
    assert fresh(Shift, shift.id).filled == 2 and len(_signups()) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DoorLink)) == 2


@pytest.mark.slow
def test_race_for_the_last_places(app, rally):
    """Twelve volunteers, each in their own thread and session, released together for three places."""
    shift = make_shift(rally, slots=3)
    rally_id, shift_id = rally.id, shift.id
    barrier = threading.Barrier(12)
    outcomes = []

    def one(i):
        with app.app_context():
            from rallies.models import Rally

            target = db.session.get(Rally, rally_id)
            barrier.wait()
            try:
                outcomes.append(sign_up(target, shift_id, VolunteerInput(f"V {i}", f"v{i}@example.org", "")).outcome)
            except ShiftFull:
                outcomes.append("full")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["full"] * 9 + ["signed_up"] * 3
    db.session.rollback()
    assert fresh(Shift, shift_id).filled == 3 and len(_signups(shift_id)) == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DoorLink)) == 3
    assert len(outbox("volunteer")) == 3


@pytest.mark.slow
def test_race_of_one_mailbox_is_one_signup(app, rally):
    """The same email submitted six times at once: one sign-up, one place, one link."""
    shift = make_shift(rally, slots=5)
    rally_id, shift_id = rally.id, shift.id
    barrier = threading.Barrier(6)
    outcomes = []

    def one(_i):
        with app.app_context():
            from rallies.models import Rally

            target = db.session.get(Rally, rally_id)
            barrier.wait()
            try:
                outcomes.append(sign_up(target, shift_id, VolunteerInput("Vera", "vera@example.org", "")).outcome)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already"] * 5 + ["signed_up"]
    db.session.rollback()
    assert fresh(Shift, shift_id).filled == 1 and len(_signups(shift_id)) == 1


def test_service_refuses_an_empty_name_or_email(rally):
    shift = make_shift(rally)
    for name, email in (("", "a@example.org"), ("   ", "a@example.org"), ("Vera", ""), ("Vera", "no-at-sign")):
        with pytest.raises(SignupError):
            sign_up(rally, shift.id, VolunteerInput(name, email))


def test_hostile_names_are_escaped_on_volunteer_pages_and_email(client, rally):
    shift = make_shift(rally, notes="<b>bold</b> {{7*7}}")
    resp = _post(client, rally, shift, name=XSS_NAME)
    assert resp.status_code == 303
    own = client.get(resp.headers["Location"]).text
    assert XSS_NAME not in own and "Zed &lt;img src=x onerror=alert(2)&gt; Quux" in own
    assert "<b>bold</b>" not in client.get(f"/volunteer/r/{rally.slug}").text
    [row] = outbox("volunteer")
    html = run_renderer(row).html
    assert XSS_NAME not in html and "&lt;img src=x" in html
    assert "<b>bold</b>" not in html and "{{7*7}}" in html  # escaped, and never evaluated as a template


def test_the_public_signup_is_rate_limited(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_VOLUNTEER="2 per minute")
    with app.app_context():
        rally = make_rally(campaign_of(make_user()))
        shift = make_shift(rally, slots=10)
        client = app.test_client()
        codes = [_post(client, rally, shift, email=f"v{i}@example.org").status_code for i in range(3)]
        assert codes == [303, 303, 429]
        assert client.get(f"/volunteer/r/{rally.slug}").status_code == 200  # reading the page is not limited
        assert fresh(Shift, shift.id).filled == 2
