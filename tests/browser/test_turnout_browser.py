"""The campaign turnout map in Chromium: markers and clusters, a popup on click, a screenshot that is not blank."""

from __future__ import annotations

import io
import re

import pytest

from tests.factories import PASSWORD, PAST, arrival_minutes, campaign_of, held_rally, make_door, make_ticket

pytestmark = pytest.mark.browser

HOSTILE = "<b>Seattle</b> <img src=x>"


def _log_in(page, base, email):
    page.goto(f"{base}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_campaign_map_markers_popup_and_pixels(make_user, live_server, page):
    from PIL import Image, ImageStat

    owner = make_user(email="mapper@example.org", password=PASSWORD)
    camp = campaign_of(owner)
    # Three rallies far apart (always single circles) and five in one city (one cluster at country zoom).
    for title, lat, lon in ((HOSTILE, 47.6, -122.3), ("Miami", 25.8, -80.2), ("Boston", 42.36, -71.06)):
        held_rally(camp, going=200, rsvp_in=150, title=title, lat=lat, lon=lon)
    for i in range(5):
        chicago = held_rally(camp, going=100, rsvp_in=50 + i, title=f"Chicago {i}", lat=41.88 + i * 0.01,
                       lon=-87.63)
    make_ticket(chicago, "Ana Smith", postal_code="60614", guests=5, checked_in_people=6)

    page.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())  # no tiles off the machine
    page.set_viewport_size({"width": 1200, "height": 900})
    _log_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/turnout/campaigns/{camp.id}/map")
    page.wait_for_selector(".marker-cluster")
    page.wait_for_selector("[data-origins-loaded='1']")  # the heat layer filled from the origins endpoint

    singles = page.locator("path.leaflet-interactive").count()
    clusters = [int(t) for t in page.locator(".marker-cluster span").all_inner_texts()]
    assert singles + sum(clusters) == 8
    assert clusters == [5] and singles == 3

    # Click the Seattle circle: its popup shows the hostile title as text, never as markup.
    page.evaluate("""() => {
        const map = Object.values(window).find(v => v && v instanceof L.Map);
        map.setView([47.6, -122.3], 9);
    }""")
    page.wait_for_timeout(300)
    page.locator("path.leaflet-interactive").first.click()
    popup = page.wait_for_selector(".leaflet-popup-content")
    assert HOSTILE in popup.inner_text()
    assert page.locator(".leaflet-popup-content img").count() == 0
    assert page.locator(".leaflet-popup-content a", has_text="Dashboard").count() == 1

    page.evaluate("""() => {
        const map = Object.values(window).find(v => v && v instanceof L.Map);
        map.closePopup(); map.setView([39, -96], 4);
    }""")
    page.wait_for_timeout(300)
    shot = Image.open(io.BytesIO(page.locator(".folium-map").screenshot())).convert("L")
    assert max(ImageStat.Stat(shot).stddev) > 3  # circles and a cluster drawn, not a blank box


def test_rally_dashboard_draws_the_arrival_chart(make_user, live_server, page):
    owner = make_user(email="dash@example.org", password=PASSWORD)
    rally = held_rally(campaign_of(owner), going=30, rsvp_in=20, title="Dash rally")
    door = make_door(rally, "North", lanes=1)
    arrival_minutes(rally, door, PAST, {0: 5, 1: 9, 3: 6})
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _log_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/turnout/rallies/{rally.id}/")
    page.wait_for_function("() => window.Chart && Chart.getChart('arrival-chart')")
    points = page.evaluate("() => Chart.getChart('arrival-chart').data.datasets.map(d => d.data)")
    assert points == [[5, 9, 0, 6], [5, 9, 0, 6]]  # North, then all doors
    assert errors == []


def test_live_dashboard_refreshes_itself(make_user, make_rally, live_server, page):
    from datetime import UTC, datetime, timedelta

    from rallies.database import atomic
    from rallies.extensions import db
    from rallies.models import Rally

    owner = make_user(email="live@example.org", password=PASSWORD)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=20)
    rally = make_rally(campaign_of(owner), starts_at=start, title="Live now")
    door = make_door(rally, "Main", lanes=1)
    arrival_minutes(rally, door, start, {0: 3})
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
    _log_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/turnout/rallies/{rally.id}/")
    page.wait_for_function("() => window.Chart && Chart.getChart('arrival-chart')")
    assert page.inner_text('[data-tally="checked_in_people"]') == "0"

    # The check-in service moves the counters and adds a minute row; the page picks both up by itself.
    with atomic():
        r = db.session.get(Rally, rally.id)
        r.checked_in_people = r.checked_in_rsvp_people = 1234
    arrival_minutes(rally, door, start, {2: 7})
    page.wait_for_function(
        "() => document.querySelector('[data-tally=\"checked_in_people\"]').textContent === '1,234'", timeout=20000)
    page.wait_for_function("() => Chart.getChart('arrival-chart').data.datasets[1].data.join() === '3,0,7'",
                           timeout=20000)
