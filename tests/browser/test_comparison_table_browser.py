"""Issue 12, in Chromium: the turnout comparison fits a 1280 px screen, hides optional columns (remembered),
and on a phone scrolls inside its own box rather than the page."""

from __future__ import annotations

import pytest

from tests.browser.screenshots import save
from tests.factories import PASSWORD, campaign_of, held_rally

pytestmark = pytest.mark.browser


def _campaign_page(make_user, live_server, page):
    owner = make_user(email="compare@example.org", password=PASSWORD)
    camp = campaign_of(owner)
    for i in range(6):
        held_rally(camp, going=12_000 + i, rsvp_in=9_000 + i, walkins=1_250, title=f"Rally for Jobs, Parks and Schools {i}",
                   city="San Francisco", state="CA")
    page.goto(f"{live_server.url}/auth/login")
    page.fill("input[name=email]", owner.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state("networkidle")
    return f"{live_server.url}/turnout/campaigns/{camp.id}/"


def _overflow(page, selector):
    return page.eval_on_selector(selector, "el => el.scrollWidth - el.clientWidth")


def test_comparison_fits_1280_and_hides_columns(make_user, live_server, page):
    page.set_viewport_size({"width": 1280, "height": 800})
    url = _campaign_page(make_user, live_server, page)
    page.goto(url)
    assert _overflow(page, ".table-wrap") <= 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    save(page, "turnout-comparison-1280")
    assert page.locator("th.col-walkins").is_visible()
    page.click(".columns-control summary")
    page.uncheck("input[data-column=walkins]")
    page.uncheck("input[data-column=peak]")
    assert not page.locator("th.col-walkins").is_visible() and not page.locator("td.col-peak >> nth=0").is_visible()
    page.reload()
    assert not page.locator("th.col-walkins").is_visible() and page.locator("th.col-fill").is_visible()
    page.click(".columns-control summary")
    page.check("input[data-column=walkins]")
    assert page.locator("th.col-walkins").is_visible()


def test_comparison_scrolls_in_its_own_box_on_a_phone(make_user, live_server, page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(_campaign_page(make_user, live_server, page))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert _overflow(page, ".table-wrap") > 0
    save(page, "turnout-comparison-phone")
