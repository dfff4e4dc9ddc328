"""The ticket page as a conditional GET: an ETag of what it shows, 304 while that is unchanged, never personal."""

from __future__ import annotations

import re

import pytest

from rallies.rsvp import rsvps
from tests.stored import rsvp_by_email
from tests.web import rsvp_post, token_from


@pytest.fixture
def rally(campaign, make_rally):
    return make_rally(campaign, title="ETag Rally", capacity=2, max_guests=3)


def _anon(app):
    return app.test_client(use_cookies=False)


def _etag(app, token: str) -> str:
    resp = _anon(app).get(f"/t/{token}")
    assert resp.status_code == 200
    return resp.headers["ETag"]


def test_304_while_the_page_is_unchanged(app, client, rally):
    token = token_from(rsvp_post(client, rally, email="ana@example.org"))
    first = _anon(app).get(f"/t/{token}")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = _anon(app).get(f"/t/{token}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == "private, no-cache"
    # No policy on the 304: the browser keeps the cached page's, whose nonce its map script carries.
    assert "Content-Security-Policy" not in again.headers
    nonce = re.search(r'<script nonce="([^"]+)"', first.get_data(as_text=True)).group(1)
    assert f"'nonce-{nonce}'" in first.headers["Content-Security-Policy"]
    assert _anon(app).get(f"/t/{token}", headers={"If-None-Match": '"other"'}).status_code == 200


def test_same_etag_from_a_fresh_app(app_factory, client, rally):
    token = token_from(rsvp_post(client, rally, email="ana@example.org"))
    here = _anon(client.application).get(f"/t/{token}").headers["ETag"]
    other = app_factory()  # a second app on the same database: another worker, nothing shared in memory
    assert other.test_client(use_cookies=False).get(f"/t/{token}").headers["ETag"] == here


def test_etag_changes_with_status_and_guests(app, client, rally):
    ana = token_from(rsvp_post(client, rally, email="ana@example.org"))
    going = _etag(app, ana)
    rsvps.change_guests(rsvp_by_email(rally, "ana@example.org"), 1)
    two = _etag(app, ana)
    assert two != going
    stale = _anon(app).get(f"/t/{ana}", headers={"If-None-Match": going})
    assert stale.status_code == 200 and "2 people" in stale.get_data(as_text=True)
    rsvps.cancel_rsvp(rsvp_by_email(rally, "ana@example.org"))
    cancelled = _anon(app).get(f"/t/{ana}", headers={"If-None-Match": two})
    assert cancelled.status_code == 200 and "badge-bad\">Cancelled" in cancelled.get_data(as_text=True)


def test_etag_changes_when_the_waitlist_place_moves_but_the_row_does_not(app, client, campaign, make_rally):
    full = make_rally(campaign, title="Tiny", capacity=1, max_guests=0)
    token_from(rsvp_post(client, full, email="a@example.org"))
    token_from(rsvp_post(client, full, email="b@example.org"))
    c = token_from(rsvp_post(client, full, email="c@example.org"))
    before = _anon(app).get(f"/t/{c}")
    assert "number 2 in line" in before.get_data(as_text=True)
    rsvps.cancel_rsvp(rsvp_by_email(full, "b@example.org"))  # c's row is untouched
    after = _anon(app).get(f"/t/{c}", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and "number 1 in line" in after.get_data(as_text=True)


def test_etag_changes_when_the_rally_changes(app, client, rally):
    from rallies.database import atomic

    token = token_from(rsvp_post(client, rally, email="ana@example.org"))
    before = _etag(app, token)
    with atomic():
        rally.venue_name = "Another Park"
    after = _anon(app).get(f"/t/{token}", headers={"If-None-Match": before})
    assert after.status_code == 200 and "Another Park" in after.get_data(as_text=True)


def test_never_shared_across_tickets(app, client, rally):
    ana = token_from(rsvp_post(client, rally, email="ana@example.org", name="Same Name"))
    ben = token_from(rsvp_post(client, rally, email="ben@example.org", name="Same Name"))
    ana_tag = _etag(app, ana)
    assert _etag(app, ben) != ana_tag
    assert _anon(app).get(f"/t/{ben}", headers={"If-None-Match": ana_tag}).status_code == 200


def test_flash_and_login_pages_have_no_etag(app, client, rally, make_user, login):
    token = token_from(rsvp_post(client, rally, email="ana@example.org"))
    anon_tag = _etag(app, token)
    flashed = client.get(f"/t/{token}", headers={"If-None-Match": anon_tag})
    assert flashed.status_code == 200 and "ETag" not in flashed.headers
    assert "Your ticket is below, and we&#39;ve emailed it" in flashed.get_data(as_text=True)
    organizer = app.test_client()
    login(organizer, make_user(email="org@example.org"))
    mine = organizer.get(f"/t/{token}", headers={"If-None-Match": anon_tag})
    assert mine.status_code == 200 and "ETag" not in mine.headers and "Log out" in mine.get_data(as_text=True)


def test_page_escapes_what_people_typed(app, client, campaign, make_rally):
    rally = make_rally(campaign, title="<script>alert(1)</script>")
    token = token_from(rsvp_post(client, rally, email="x@example.org", name="<b>Eve</b>"))
    html = _anon(app).get(f"/t/{token}").get_data(as_text=True)
    assert "<b>Eve</b>" not in html and "&lt;b&gt;Eve&lt;/b&gt;" in html
    assert "<script>alert(1)</script>" not in html
