"""The ticket page cache: served from memory for anonymous visitors, never stale, never personal."""

from __future__ import annotations

import re

import pytest
from conftest import campaign_of
from rsvp_helpers import rsvp_by_email, rsvp_post, token_from

from rallies import pagecache
from rallies.extensions import db
from rallies.services import rsvps


@pytest.fixture
def campaign(make_user):
    return campaign_of(make_user())


@pytest.fixture
def rally(campaign, make_rally):
    return make_rally(campaign, title="Cache Rally", capacity=2, max_guests=3)


def _anon(app):
    return app.test_client(use_cookies=False)


def _cache(app):
    return app.extensions.get("rallies.pagecache")


def _script_nonces(html: str) -> set[str]:
    return set(re.findall(r'<script nonce="([^"]+)"', html))


def test_repeat_views_come_from_the_cache_with_a_fresh_nonce(app, client, rally):
    token = token_from(rsvp_post(client, rally, email="ana@example.org"))
    first = _anon(app).get(f"/t/{token}")
    entries = len(_cache(app))
    second = _anon(app).get(f"/t/{token}")
    assert first.status_code == second.status_code == 200
    assert len(_cache(app)) == entries  # the second view was a hit
    assert first.headers["Cache-Control"] == "private, no-cache"
    nonces = []
    for resp in (first, second):
        html = resp.get_data(as_text=True)
        found = _script_nonces(html)
        assert len(found) == 1, "the venue map's inline script carries the nonce"
        nonce = found.pop()
        assert f"'nonce-{nonce}'" in resp.headers["Content-Security-Policy"]
        assert "nonce-" not in html.replace(f'nonce="{nonce}"', "")  # no placeholder left behind
        nonces.append(nonce)
    assert nonces[0] != nonces[1]
    # Apart from the nonce, the pages are the same bytes.
    a, b = (r.get_data(as_text=True).replace(n, "N") for r, n in zip((first, second), nonces, strict=True))
    assert a == b


def test_changes_show_at_once(app, client, rally):
    ana = token_from(rsvp_post(client, rally, email="ana@example.org", guests=1))  # 2 people: full
    ben = token_from(rsvp_post(client, rally, email="ben@example.org"))
    assert "Waitlisted: number 1 in line" in _anon(app).get(f"/t/{ben}").get_data(as_text=True)
    assert "Going" in _anon(app).get(f"/t/{ana}").get_data(as_text=True)
    rsvps.cancel_rsvp(rsvp_by_email(rally, "ana@example.org"))
    ana_html = _anon(app).get(f"/t/{ana}").get_data(as_text=True)
    assert "badge-bad\">Cancelled" in ana_html and "QR code for your ticket" not in ana_html
    ben_html = _anon(app).get(f"/t/{ben}").get_data(as_text=True)
    assert "badge-ok\">Going" in ben_html and "QR code for your ticket" in ben_html


def test_waitlist_place_moves_without_the_ticket_changing(app, client, campaign, make_rally):
    full = make_rally(campaign, title="Tiny", capacity=1, max_guests=0)
    token_from(rsvp_post(client, full, email="a@example.org"))
    b = token_from(rsvp_post(client, full, email="b@example.org"))
    c = token_from(rsvp_post(client, full, email="c@example.org"))
    assert "number 2 in line" in _anon(app).get(f"/t/{c}").get_data(as_text=True)
    rsvps.cancel_rsvp(rsvp_by_email(full, "b@example.org"))  # c's row is untouched
    assert "number 1 in line" in _anon(app).get(f"/t/{c}").get_data(as_text=True)
    assert b


def test_flash_and_login_pages_are_never_cached_or_served_from_cache(app, client, rally, make_user, login):
    resp = rsvp_post(client, rally, email="ana@example.org")
    token = token_from(resp)
    flashed = client.get(f"/t/{token}").get_data(as_text=True)
    assert "Your ticket is below, and we&#39;ve emailed it" in flashed
    anon = _anon(app).get(f"/t/{token}").get_data(as_text=True)
    assert "Your ticket is below, and we&#39;ve emailed it" not in anon and "Organizer login" in anon
    organizer = app.test_client()
    login(organizer, make_user(email="org@example.org"))
    mine = organizer.get(f"/t/{token}").get_data(as_text=True)
    assert "Log out" in mine and "csrf_token" in mine
    assert "Log out" not in _anon(app).get(f"/t/{token}").get_data(as_text=True)


def test_cache_off(app_factory, make_user, make_rally):
    app = app_factory(PAGE_CACHE_MB=0)
    with app.app_context():
        rally = make_rally(campaign_of(make_user()), title="No cache")
        token = token_from(rsvp_post(app.test_client(), rally))
        assert _anon(app).get(f"/t/{token}").status_code == 200
        assert _cache(app) is None


def test_memory_is_bounded_oldest_out():
    cache = pagecache.PageCache(max_bytes=10)
    cache.put("a", ("aaaa", False))
    cache.put("b", ("bbbb", False))
    assert cache.get("a") is not None  # now the newest
    cache.put("c", ("cccc", False))  # 12 bytes: the oldest (b) goes
    assert cache.get("b") is None and cache.get("a") and cache.get("c")
    cache.put("huge", ("x" * 11, False))  # bigger than the whole cache: not kept
    assert cache.get("huge") is None and len(cache) == 2


def test_cached_page_escapes_like_a_fresh_one(app, client, campaign, make_rally):
    rally = make_rally(campaign, title="<script>alert(1)</script>")
    token = token_from(rsvp_post(client, rally, email="x@example.org", name="<b>Eve</b>"))
    for _ in range(2):
        html = _anon(app).get(f"/t/{token}").get_data(as_text=True)
        assert "<b>Eve</b>" not in html and "&lt;b&gt;Eve&lt;/b&gt;" in html
        assert "<script>alert(1)</script>" not in html
    db.session.rollback()
