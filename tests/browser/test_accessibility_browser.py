"""Issue 12: axe-core finds nothing, of any impact, on every page the route-wide tests visit, on a phone
and on a desktop, for a visitor and for an organizer."""

from __future__ import annotations

import re

import pytest

from tests.browser.a11y import axe_violations
from tests.factories import PASSWORD, audit_world
from tests.web import build, rules, string_values

pytestmark = pytest.mark.browser

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


def _pages(app, world) -> list[str]:
    urls = []
    for rule in rules(app, "GET"):
        if rule.endpoint == "static" or rule.endpoint.startswith(("api.", "health.")) or "/api/" in rule.rule:
            continue
        if rule.rule.endswith((".csv", ".json", ".png", ".ics", ".js", ".webmanifest", ".ico")):
            continue
        urls.append(build(app, rule, {**string_values(world), **world.ids_b}))
    return sorted(set(urls))


@pytest.mark.parametrize("size", sorted(SIZES))
def test_every_page_has_no_axe_violations(app, live_server, launch_browser, size):
    world = audit_world()
    browser = launch_browser()
    found = {}
    for who in ("visitor", "organizer"):
        context = browser.new_context(viewport=SIZES[size])
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())  # map tiles
        page = context.new_page()
        if who == "organizer":
            page.goto(f"{live_server.url}/auth/login")
            page.fill("input[name=email]", world.owner_b.email)
            page.fill("input[name=password]", PASSWORD)
            page.click("form button[type=submit]")
            page.wait_for_load_state("networkidle")
        visited = 0
        for url in _pages(live_server.app, world):
            response = page.goto(live_server.url + url)
            if response is None or "text/html" not in (response.headers.get("content-type") or ""):
                continue
            page.wait_for_load_state("networkidle")
            visited += 1
            problems = axe_violations(page)
            if problems:
                found[f"{who} {url}"] = problems
        context.close()
        assert visited > 15, (who, visited)
    assert not found, "\n".join(f"{k}: {v}" for k, v in found.items())


@pytest.mark.parametrize("size", sorted(SIZES))
def test_the_scanner_has_a_heading_and_no_axe_violations(make_user, make_rally, live_server, launch_browser, size):
    from tests.browser.test_scanner import link_path, open_door_link
    from tests.factories import campaign_of, make_door

    rally = make_rally(campaign_of(make_user()), title="Scanner rally")
    door = make_door(rally, "North gate")
    page = launch_browser().new_context(viewport=SIZES[size]).new_page()
    open_door_link(page, live_server.url, link_path(door), "Phone 1")
    assert page.locator("h1").count() == 1 and "North gate" in page.inner_text("h1")
    assert axe_violations(page) == []
