"""Issue 12, in Chromium: the campaign map opens where the rallies are, its layer control covers no marker,
and the heat layer says "loading" only while it loads."""

from __future__ import annotations

import re

import pytest

from tests.browser.screenshots import save
from tests.factories import PASSWORD, campaign_of, held_rally

pytestmark = pytest.mark.browser

#: The north-east one sits in the top-right corner of the fitted view, where the layer control is.
CORNERS = (("Seattle", 47.6, -122.3), ("Miami", 25.8, -80.2), ("San Diego", 32.7, -117.2), ("Presque Isle", 47.6, -68.0))


def _open(page, base, owner, camp):
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
    page.goto(f"{base}/auth/login")
    page.fill("input[name=email]", owner.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.goto(f"{base}/turnout/campaigns/{camp.id}/map")
    page.wait_for_selector(".leaflet-control-layers")


def _zoom(page) -> int:
    return page.evaluate("window[document.querySelector('.folium-map').id].getZoom()")


def _overlaps(a, b) -> bool:
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and \
        a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


def test_one_rally_opens_on_its_city(make_user, live_server, page):
    owner = make_user(email="one@example.org", password=PASSWORD)
    camp = campaign_of(owner)
    held_rally(camp, going=100, rsvp_in=80, title="Only one", lat=41.88, lon=-87.63)
    _open(page, live_server.url, owner, camp)
    assert _zoom(page) >= 10
    save(page, "turnout-map-one-rally")
    centre = page.evaluate("(() => { const c = window[document.querySelector('.folium-map').id].getCenter();"
                           " return [c.lat, c.lng]; })()")
    assert abs(centre[0] - 41.88) < 0.01 and abs(centre[1] + 87.63) < 0.01


@pytest.mark.parametrize("size", [{"width": 1200, "height": 900}, {"width": 390, "height": 844}])
def test_layer_control_covers_no_marker(make_user, live_server, page, size):
    owner = make_user(email="corners@example.org", password=PASSWORD)
    camp = campaign_of(owner)
    for title, lat, lon in CORNERS:
        held_rally(camp, going=200, rsvp_in=150, title=title, lat=lat, lon=lon)
    page.set_viewport_size(size)
    _open(page, live_server.url, owner, camp)
    page.wait_for_selector("path.leaflet-interactive")
    save(page, f"turnout-map-layer-control-{size['width']}")
    control = page.locator(".leaflet-control-layers").bounding_box()
    markers = page.locator("path.leaflet-interactive, .marker-cluster")
    assert markers.count() >= 3
    for i in range(markers.count()):
        box = markers.nth(i).bounding_box()
        assert not _overlaps(box, control), (i, box, control)


def test_heat_status_says_loading_only_while_loading(make_user, live_server, launch_browser):
    owner = make_user(email="heat@example.org", password=PASSWORD)
    camp = campaign_of(owner)
    held_rally(camp, going=100, rsvp_in=80, title="Heat", lat=41.88, lon=-87.63)
    browser = launch_browser()
    page = browser.new_context().new_page()
    _open(page, live_server.url, owner, camp)
    page.wait_for_selector("[data-origins-loaded]")
    assert "loading" not in page.inner_text("[data-origins-status]")
    page.route(re.compile(r".*/origins$"), lambda route: route.abort())
    page.reload()
    page.wait_for_selector("[data-origins-status]:has-text('could not be loaded')")
    no_js = browser.new_context(java_script_enabled=False).new_page()
    _open_no_js = f"{live_server.url}/turnout/campaigns/{camp.id}/map"
    no_js.context.add_cookies(page.context.cookies())
    no_js.goto(_open_no_js)
    assert "loading" not in no_js.inner_text("main")
