"""Issue 12, in Chromium: a first visit logs no console error and no failed request (the favicon included)."""

from __future__ import annotations

import re

import pytest

from tests.browser.screenshots import save
from tests.factories import campaign_of

pytestmark = pytest.mark.browser


def test_first_pages_log_no_errors_and_no_failed_requests(make_user, make_rally, live_server, launch_browser):
    rally = make_rally(campaign_of(make_user()), title="Icon rally")
    browser = launch_browser()
    context = browser.new_context()
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())  # map tiles
    page = context.new_page()
    errors, failed = [], []
    page.on("console", lambda msg: msg.type == "error" and "net::ERR_FAILED" not in msg.text
            and errors.append(msg.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: r.url.startswith(live_server.url) and r.status >= 400
            and failed.append((r.status, r.url)))
    for path in ("/", f"/r/{rally.slug}", "/auth/login"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
    assert not failed, failed
    assert not errors, errors
    # The icon the tab shows is the page's own, and it loads.
    href = page.eval_on_selector('link[rel="icon"]', "el => el.href")
    page.goto(href)
    save(page, "app-icon")
    assert page.request.get(href).status == 200
