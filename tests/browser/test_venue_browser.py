"""The scanner in Exit mode and at venue full, in headless Chromium: typed codes, real server verdicts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import campaign_of, door_link, live_rally, make_door, make_ticket

pytestmark = pytest.mark.browser


def _open(page, base, door, device):
    page.goto(base + f"/door/l/{door_link(door)[1]}")
    page.fill("#device_name", device)
    page.click("form button[type=submit]")
    page.wait_for_selector("body[data-ready='1']")


def _scan(page, code: str, expected: str) -> str:
    page.fill("#code", code)
    page.press("#code", "Enter")
    page.wait_for_selector("#verdict:not([hidden])", timeout=20000)
    assert page.get_attribute("#verdict", "data-verdict") == expected, page.inner_text("#verdict")
    text = page.inner_text("#verdict")
    page.click("#verdict")
    return text


def test_exit_mode_counts_people_out_and_venue_full_holds_in_amber(make_user, live_server, page):
    rally = live_rally(campaign_of(make_user()), safe_capacity=1)
    door = make_door(rally, "North gate")
    _a, first = make_ticket(rally, name="Ana Lopez")
    _b, second = make_ticket(rally, name="Ben Okafor")
    _open(page, live_server.url, door, "North phone")
    _scan(page, first, "admit")
    expect(page.locator("#c-inside")).to_have_text("1")
    full = _scan(page, second, "venue_full")
    assert "VENUE FULL: HOLD" in full and "Inside now: 1 of 1" in full
    page.fill("#code", second)
    page.press("#code", "Enter")
    page.wait_for_selector("#verdict.verdict-venue_full:not([hidden])")
    color = page.evaluate("getComputedStyle(document.getElementById('verdict')).backgroundColor")
    assert color == "rgb(255, 176, 0)"  # amber, full screen
    page.click("#verdict")
    page.click("#mode-exit")
    assert page.get_attribute("#mode-exit", "aria-pressed") == "true"
    assert "1 left" in _scan(page, first, "exit")
    expect(page.locator("#c-inside")).to_have_text("0")
    page.click("#mode-entry")
    _scan(page, second, "admit")
    page.reload()  # the mode is kept per door on the device
    page.wait_for_selector("body[data-ready='1']")
    assert page.get_attribute("#mode-entry", "aria-pressed") == "true"


def test_offline_door_holds_at_the_safety_margin_and_says_the_count_is_stale(make_user, live_server, launch_browser):
    """Safe capacity 20, one door: the margin is max(ceil(2% of 20), 10 x 1) = 10, so offline it holds at 10."""
    from rallies.door.checkin import check_in
    from rallies.extensions import db
    from rallies.models import Rally, ScanLog
    from tests.factories import bulk_tickets, door_session, nonce

    rally = live_rally(campaign_of(make_user()), safe_capacity=20)
    door = make_door(rally, "North gate")
    staff = door_session(door, device="Staff phone")[0]
    for _id, code in bulk_tickets(rally, 9):
        assert check_in(code, staff, nonce=nonce()).verdict == "admit"
    _a, fits = make_ticket(rally, name="Ana Lopez")
    _b, held = make_ticket(rally, name="Ben Okafor")
    context = launch_browser().new_context()
    page = context.new_page()
    _open(page, live_server.url, door, "North phone")
    expect(page.locator("#synced")).to_have_text(re.compile(r"^synced "), timeout=20000)
    expect(page.locator("#c-inside")).to_have_text("9")
    context.set_offline(True)
    page.evaluate("window.dispatchEvent(new Event('offline'))")
    assert "decided offline" in _scan(page, fits, "admit")  # 9 + 1 <= 20 - 10
    expect(page.locator("#c-stale")).to_contain_text("Count may be stale (synced 0 min ago)")
    expect(page.locator("#c-inside")).to_have_text("10")
    assert "Inside now: 10 of 20" in _scan(page, held, "venue_full")  # 10 + 1 > 10, though the venue has room
    context.set_offline(False)
    page.evaluate("window.door.syncOnce()")
    expect(page.locator("#queued")).to_have_text("0 queued", timeout=20000)
    db.session.rollback()
    assert db.session.get(Rally, rally.id).inside_people == 10
    logged = db.session.scalars(db.select(ScanLog.verdict).where(ScanLog.offline.is_(True)).order_by(ScanLog.id)).all()
    assert logged == ["admit", "venue_full"]


def test_offline_exit_queues_and_uploads_once(make_user, live_server, launch_browser):
    from rallies.door.checkin import check_in
    from rallies.extensions import db
    from rallies.models import Checkin, Rally
    from tests.factories import door_session, nonce

    rally = live_rally(campaign_of(make_user()))
    door = make_door(rally, "North gate")
    _rsvp, code = make_ticket(rally, name="Ana Lopez", guests=1)
    assert check_in(code, door_session(door, device="Staff phone")[0], nonce=nonce()).admitted == 2
    context = launch_browser().new_context()
    page = context.new_page()
    _open(page, live_server.url, door, "North phone")
    expect(page.locator("#synced")).to_have_text(re.compile(r"^synced "), timeout=20000)
    expect(page.locator("#c-inside")).to_have_text("2")
    page.click("#mode-exit")
    context.set_offline(True)
    page.evaluate("window.dispatchEvent(new Event('offline'))")
    assert "2 left" in _scan(page, code, "exit")
    expect(page.locator("#c-inside")).to_have_text("0")
    assert "No entry known" in _scan(page, code, "exit")  # nobody of the party is inside any more
    expect(page.locator("#queued")).to_have_text("2 queued")
    context.set_offline(False)
    page.evaluate("window.door.syncOnce()")
    expect(page.locator("#queued")).to_have_text("0 queued", timeout=20000)
    page.evaluate("window.door.syncOnce()")  # a second pass uploads nothing again
    db.session.rollback()
    assert db.session.get(Rally, rally.id).inside_people == 0
    exits = db.session.scalars(db.select(Checkin.people).where(Checkin.direction == "exit")).all()
    assert exits == [2]
