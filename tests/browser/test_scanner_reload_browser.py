"""Issue 12, in Chromium: reloaded without network, the scanner still shows its counters and recent scans."""

from __future__ import annotations

import pytest

from tests.browser.screenshots import save
from tests.browser.test_scanner import _queued, _wait_synced, link_path, open_door_link, verdict
from tests.factories import campaign_of, make_door, make_ticket

pytestmark = pytest.mark.browser


def test_counters_and_recent_scans_survive_an_offline_reload(make_user, make_rally, live_server, launch_browser):
    rally = make_rally(campaign_of(make_user()), title="Reload rally")
    door = make_door(rally, "North gate")
    _rsvp, code = make_ticket(rally, name="Ana Lopez", guests=1)
    context = launch_browser().new_context()
    page = context.new_page()
    open_door_link(page, live_server.url, link_path(door), "North phone")
    _wait_synced(page)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    assert page.inner_text("#c-door") == "0"
    context.set_offline(True)
    page.fill("#code", code)
    page.press("#code", "Enter")
    verdict(page, "admit")
    shown = {"door": page.inner_text("#c-door"), "rally": page.inner_text("#c-rally"),
             "recent": page.inner_text("#recent")}
    assert shown["door"] == "2" and shown["rally"] == "2" and "Ana L." in shown["recent"]
    page.reload()  # offline: the page from the service worker, the rest from IndexedDB
    page.wait_for_selector("body[data-ready='1']")
    assert _queued(page) == "1 queued"
    save(page, "scanner-after-offline-reload")
    assert {"door": page.inner_text("#c-door"), "rally": page.inner_text("#c-rally"),
            "recent": page.inner_text("#recent")} == shown
