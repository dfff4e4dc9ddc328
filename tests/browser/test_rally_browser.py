"""In Chromium: an organizer creates a rally from a street address and sees its marker; a supporter finds it by ZIP."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, campaign_of

pytestmark = pytest.mark.browser

TITLE = "Rally for <Jobs> & Parks"


def test_organizer_creates_rally_and_supporter_finds_it_by_zip(make_user, live_server, launch_browser):
    make_user(email="creator@example.org", password=PASSWORD, campaign="Browser campaign")
    browser = launch_browser()
    blocked = []

    def no_network(route):
        blocked.append(route.request.url)
        route.abort()

    # --- The organizer, through the real login form --------------------------------------------
    organizer = browser.new_context()
    organizer.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), no_network)  # tiles would leave the machine
    page = organizer.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and "net::ERR_FAILED" not in msg.text
            and errors.append(msg.text))
    page.goto(f"{live_server.url}/auth/login")
    page.fill("input[name=email]", "creator@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.goto(f"{live_server.url}/organize/")
    page.click("text=New rally")
    page.fill("#title", TITLE)
    page.fill("#description", "Bring water.\nhttps://example.org/more")
    page.fill("#starts_local", "2030-05-01T18:00")
    page.fill("#ends_local", "2030-05-01T20:00")
    page.fill("#doors_local", "2030-05-01T17:00")
    page.fill("#venue_name", "Republic Square")
    page.fill("#address", "422 Guadalupe St")
    page.fill("#city", "Austin")
    page.fill("#state", "TX")
    page.fill("#postal_code", "78701")
    page.select_option("#visibility", "listed")
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"/organize/rallies/\d+$"))
    assert page.locator("h1").inner_text() == TITLE
    marker = page.wait_for_selector(".leaflet-marker-icon")
    assert marker.is_visible()
    assert "precision: ZIP code centre" in page.locator("#pin-precision").inner_text()
    # Dragging the marker fills the pin form; saving it makes the precision "set by hand".
    assert page.input_value("#lat") == "30.271300"
    marker.scroll_into_view_if_needed()
    box = marker.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] - 4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 30, y + 30, steps=5)
    page.mouse.up()
    expect(page.locator("#lat")).not_to_have_value("30.271300")
    assert float(page.input_value("#lat")) < 30.2713 and float(page.input_value("#lon")) > -97.7426
    page.click("form.pin-form button[type=submit]")
    page.wait_for_selector(".leaflet-marker-icon")
    assert "precision: set by hand" in page.locator("#pin-precision").inner_text()
    organizer.close()

    # --- A supporter, by ZIP code ---------------------------------------------------------------
    supporter = browser.new_context()
    supporter.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), no_network)
    page = supporter.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/near")
    page.fill("#q", "78701")
    page.select_option("#unit", "km")
    page.click("#near-form button[type=submit]")
    page.wait_for_selector(".leaflet-marker-icon")
    assert "1 upcoming rally within 25 km of 78701 (Austin, TX)" in page.content()
    page.click(f"text={TITLE}")
    page.wait_for_selector(".leaflet-marker-icon")
    assert "Wednesday, May 1, 2030, 6:00 PM CDT" in page.inner_text("main")
    assert page.locator("main a[href='https://example.org/more']").count() == 1
    page.click(".leaflet-marker-icon")
    assert page.wait_for_selector(".leaflet-popup-content").inner_text() == "Republic Square"
    supporter.close()

    assert errors == []  # no CSP violations or script errors on any page
    assert all(not re.search(r"\.(js|css)(\?|$)", url) for url in blocked), blocked  # only tiles were off-site


def test_supporter_uses_browser_location(make_user, make_rally, live_server, launch_browser):
    make_rally(campaign_of(make_user()), title="Nearby rally", lat=30.30, lon=-97.74)
    browser = launch_browser()
    context = browser.new_context(geolocation={"latitude": 30.2672, "longitude": -97.7431},
                                  permissions=["geolocation"])
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
    page = context.new_page()
    page.goto(f"{live_server.url}/near")
    page.click("#use-location")  # shown only when the browser offers geolocation (static/js/near.js)
    page.wait_for_url(re.compile(r"lat=30\.2672"))
    assert "1 upcoming rally within 25 miles of your location" in page.inner_text("main")
    assert "2.3 mi" in page.inner_text("main")
    page.wait_for_selector(".leaflet-marker-icon")
    context.close()
