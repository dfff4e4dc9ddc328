"""Issue 12, in Chromium: when map tiles can't load (no network, or no MAP_TILES_URL), maps draw US state
outlines under their markers from the vendored us-atlas; when tiles load, the outlines are never fetched."""

from __future__ import annotations

import base64
import re

import pytest

from tests.browser.screenshots import save
from tests.factories import campaign_of

pytestmark = pytest.mark.browser

#: A 1 x 1 PNG: what a working tile server answers, for the case where tiles load.
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def _page(launch_browser, tiles: str):
    context = launch_browser().new_context(viewport={"width": 1000, "height": 800})
    fetched = []
    context.on("request", lambda r: "us-atlas" in r.url and fetched.append(r.url))
    if tiles == "fail":
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
    else:
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"),
                      lambda route: route.fulfill(status=200, content_type="image/png", body=PIXEL))
    return context.new_page(), fetched


def _outlines(page) -> int:
    page.wait_for_selector("[data-outlines='drawn']", timeout=15000)
    return page.locator(".leaflet-outlines-pane path").count()


@pytest.mark.parametrize("path", ["rally", "near"])
def test_outlines_appear_when_tiles_fail(make_user, make_rally, live_server, launch_browser, path):
    rally = make_rally(campaign_of(make_user()), title="Outline rally", postal_code="60607", lat=41.87, lon=-87.65)
    page, fetched = _page(launch_browser, "fail")
    page.goto(live_server.url + (f"/r/{rally.slug}" if path == "rally" else "/near?q=60607"))
    assert _outlines(page) >= 48 and fetched  # the states, DC and territories
    save(page, f"map-outlines-{path}")
    # Under the markers: the outlines' pane sits below the marker and overlay panes.
    z = page.evaluate("""() => ['outlines', 'overlay', 'marker'].map(
        n => Number(getComputedStyle(document.querySelector('.leaflet-' + n + '-pane')).zIndex))""")
    assert z[0] < z[1] < z[2], z


def test_outlines_appear_without_a_tile_server(make_user, make_rally, live_server, launch_browser):
    live_server.app.config["MAP_TILES_URL"] = ""
    rally = make_rally(campaign_of(make_user()), title="No tiles rally")
    page, _fetched = _page(launch_browser, "fail")
    page.goto(f"{live_server.url}/r/{rally.slug}")
    assert _outlines(page) >= 48


def test_no_outlines_are_fetched_when_tiles_load(make_user, make_rally, live_server, launch_browser):
    rally = make_rally(campaign_of(make_user()), title="Tiles rally")
    page, fetched = _page(launch_browser, "load")
    page.goto(f"{live_server.url}/r/{rally.slug}")
    page.wait_for_selector(".leaflet-tile-loaded")
    page.wait_for_load_state("networkidle")
    assert fetched == [] and page.locator("[data-outlines]").count() == 0
