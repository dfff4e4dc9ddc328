"""A busy door on a slow line: the scanner's background sync waits while scans keep coming, so the
verdicts have the network to themselves, but never longer than 30 s, and never with offline scans queued."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import campaign_of, door_link, make_door

pytestmark = pytest.mark.browser

#: One sync-loop tick in given conditions: does it start a sync? (state.syncing is set at once when it does.)
TICK = """([scanAgo, syncAgo, queued]) => {
    const d = window.door;
    if (d.syncing) return 'already syncing';
    d.lastScanAt = Date.now() - scanAgo;
    d.lastSyncAt = Date.now() - syncAgo;
    d.queuedCount = queued;
    d.tick();
    return d.syncing;
}"""


def tick(page, scan_ago_ms: int, sync_ago_ms: int, queued: int = 0):
    page.wait_for_function("() => !window.door.syncing", timeout=20000)
    return page.evaluate(TICK, [scan_ago_ms, sync_ago_ms, queued])


def test_the_sync_waits_while_scans_keep_coming_but_not_for_long(make_user, make_rally, live_server, page):
    rally = make_rally(campaign_of(make_user()))
    door = make_door(rally)
    page.goto(f"{live_server.url}/door/l/{door_link(door, 'scanner')[1]}")
    page.fill("#device_name", "North phone")
    page.click("form button[type=submit]")
    page.wait_for_selector("body[data-ready='1']")
    expect(page.locator("#synced")).to_have_text(re.compile(r"^synced "), timeout=20000)

    assert tick(page, scan_ago_ms=500, sync_ago_ms=5_000) is False  # a scan half a second ago: wait
    assert tick(page, scan_ago_ms=2_900, sync_ago_ms=20_000) is False
    assert tick(page, scan_ago_ms=500, sync_ago_ms=31_000) is True  # waited long enough: sync anyway
    assert tick(page, scan_ago_ms=3_100, sync_ago_ms=5_000) is True  # the door is quiet again
    assert tick(page, scan_ago_ms=500, sync_ago_ms=5_000, queued=1) is True  # offline scans go up at once


def test_an_online_verdicts_count_is_where_the_offline_estimate_starts(make_user, live_server, page):
    from tests.factories import live_rally, make_ticket

    rally = live_rally(campaign_of(make_user()), safe_capacity=500)
    door = make_door(rally)
    _rsvp, code = make_ticket(rally, guests=1)
    page.goto(f"{live_server.url}/door/l/{door_link(door, 'scanner')[1]}")
    page.fill("#device_name", "North phone")
    page.click("form button[type=submit]")
    page.wait_for_selector("body[data-ready='1']")
    expect(page.locator("#synced")).to_have_text(re.compile(r"^synced "), timeout=20000)
    assert page.evaluate("window.door.offline.insideEstimate().inside") == 0
    page.fill("#code", code)
    page.press("#code", "Enter")
    page.wait_for_selector("#verdict[data-verdict='admit']", timeout=20000)
    page.wait_for_function("() => window.door.offline.meta.insideAt > window.door.offline.meta.lastSync", timeout=20000)
    assert page.evaluate("window.door.offline.insideEstimate().inside") == 2
    stored = page.evaluate("window.door.offline.store.get('meta', 'state')")
    assert stored["inside"]["rally"] == 2
