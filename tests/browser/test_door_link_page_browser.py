"""Issue 12, in Chromium: a new door link is shown whole (wrapped) beside its QR, with a Copy button that copies it."""

from __future__ import annotations

import re

import pytest

from tests.browser.screenshots import save
from tests.factories import PASSWORD, campaign_of, make_door

pytestmark = pytest.mark.browser


def test_new_door_link_is_whole_copyable_and_beside_its_qr(make_user, make_rally, live_server, launch_browser):
    user = make_user(email="doors@example.org", password=PASSWORD)
    rally = make_rally(campaign_of(user), title="Door link rally")
    door = make_door(rally, "North gate")
    browser = launch_browser()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.goto(f"{live_server.url}/auth/login")
    page.fill("input[name=email]", "doors@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.goto(f"{live_server.url}/door/rally/{rally.id}/")
    page.select_option("select[name=door_id] >> nth=0", str(door.id))
    page.click("text=Create door link")
    box = page.wait_for_selector("#secret")
    link = box.input_value()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/door/l/\S+", link), link
    # Whole: nothing scrolls out of sight, sideways or below.
    sizes = page.eval_on_selector("#secret", "el => [el.scrollWidth, el.clientWidth, el.scrollHeight, el.clientHeight]")
    assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], sizes
    # Beside its QR on a desktop screen.
    text, qr = page.locator(".door-link-text").bounding_box(), page.locator(".door-link-qr").bounding_box()
    assert qr["x"] >= text["x"] + text["width"] and qr["y"] < text["y"] + text["height"], (text, qr)
    save(page, "door-link-page")
    page.click("text=Copy door link")
    page.wait_for_selector("[data-copy-status=secret]:has-text('Copied.')")
    assert page.evaluate("navigator.clipboard.readText()") == link
