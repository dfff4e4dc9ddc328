"""Issue 12, in Chromium on a phone set to another zone: the scanner writes every time in the rally's zone, named."""

from __future__ import annotations

import re

import pytest

from tests.browser.screenshots import save
from tests.browser.test_scanner import _wait_synced, link_path, open_door_link, verdict
from tests.factories import campaign_of, live_rally, make_door, make_ticket

pytestmark = pytest.mark.browser

RALLY_CLOCK = re.compile(r"\b\d{1,2}:\d{2} [AP]M C[SD]T\b")  # Chicago, standard or daylight time


def test_synced_and_recent_scans_use_the_rallys_zone(make_user, live_server, launch_browser):
    rally = live_rally(campaign_of(make_user()))
    door = make_door(rally)
    _rsvp, code = make_ticket(rally, name="Maria Garcia")
    page = launch_browser().new_context(timezone_id="Asia/Tokyo", locale="ja-JP").new_page()
    open_door_link(page, live_server.url, link_path(door), "Tokyo phone")
    _wait_synced(page)  # "synced <time>", not the "not synced" it starts with
    assert RALLY_CLOCK.search(page.inner_text("#synced")), page.inner_text("#synced")
    page.fill("#code", code)
    page.press("#code", "Enter")
    verdict(page, "admit")
    recent = page.inner_text("#recent li >> nth=0")
    save(page, "scanner-times-rally-zone")
    assert RALLY_CLOCK.match(recent), recent
    assert "JST" not in page.inner_text("body") and "GMT+9" not in page.inner_text("body")
