"""Issue 14, in Chromium: the scanner's sync starts from the page's head and is asked for once; the ticket set is
stored in blocks, and a device's version-1 store (one record per ticket) is regrouped, not lost."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_scanner import _wait_synced, link_path, open_door_link, verdict
from tests.factories import campaign_of, make_door, make_ticket, quick_rsvp

pytestmark = pytest.mark.browser


def _syncs(page) -> list[str]:
    return [url for url in page.evaluate("performance.getEntriesByType('resource').map((r) => r.name)")
            if "/api/sync" in url]


def test_the_first_sync_is_asked_once_and_a_reload_asks_from_the_cursor(make_user, make_rally, live_server,
                                                                         launch_browser):
    rally = make_rally(campaign_of(make_user()), title="Fast open rally")
    door = make_door(rally, "North gate")
    quick_rsvp(rally, name="Ana Lopez")  # through the RSVP service: a change number, so a cursor above 0
    page = launch_browser().new_context().new_page()
    open_door_link(page, live_server.url, link_path(door), "North phone")
    _wait_synced(page)
    first = _syncs(page)
    assert len(first) == 1 and re.search(r"sync\?since=0&ids=delta$", first[0])
    stored = page.evaluate("window.door.offline.meta.cursor")
    assert stored > 0 and page.evaluate(f"localStorage.getItem('rallies-door-cursor-{door.id}')") == str(stored)
    blocks = page.evaluate("window.door.offline.store.all('tickets')")
    assert len(blocks) == 1 and blocks[0][0][1][0] == "Ana L."  # one block record holding [id, row] pairs
    page.reload()
    for _ in range(200):  # until this page's first sync is stored (the page's CSP rules out wait_for_function)
        if page.evaluate("performance.getEntriesByName('door:synced').length"):
            break
        page.wait_for_timeout(100)
    again = _syncs(page)
    assert again == [re.sub(r"since=0", f"since={stored}", first[0])]  # the early request, not a second one


def test_a_version_1_store_is_regrouped_and_still_decides_offline(make_user, make_rally, live_server,
                                                                  launch_browser):
    rally = make_rally(campaign_of(make_user()), title="Upgrade rally")
    door = make_door(rally, "North gate")
    ticket, code = make_ticket(rally, name="Bea Ruiz", guests=1)
    page = launch_browser().new_context(service_workers="block").new_page()  # page.route sees every request
    open_door_link(page, live_server.url, link_path(door), "North phone")
    _wait_synced(page)
    page.goto(live_server.url + "/healthz")  # closes the scanner's database
    # The same device as it was before blocks: one record per ticket (with the name only it knows).
    page.evaluate("""([name, id]) => new Promise((resolve, reject) => {
        indexedDB.deleteDatabase(name).onsuccess = () => {
          const r = indexedDB.open(name, 1);
          r.onupgradeneeded = () => ['meta', 'tickets', 'checkins', 'queue'].forEach((s) => r.result.createObjectStore(s));
          r.onsuccess = () => {
            const tx = r.result.transaction(['tickets', 'meta'], 'readwrite');
            tx.objectStore('tickets').put(['Bea From V1', 2, 'g', 0], id);
            tx.objectStore('meta').put({cursor: 0, lastSync: Date.now()}, 'state');
            tx.oncomplete = () => { r.result.close(); resolve(); };
            tx.onerror = () => reject(tx.error);
          };
        };
      })""", [f"rallies-door-{door.id}", ticket.id])
    page.route("**/api/**", lambda route: route.abort())  # no network for the API: decided on the device
    page.goto(f"{live_server.url}/door/{door.id}/")
    page.wait_for_selector("body[data-ready='1']")
    assert page.evaluate("window.door.offline.store.all('tickets')") == [[[ticket.id, ["Bea From V1", 2, "g", 0]]]]
    page.fill("#code", code)
    page.press("#code", "Enter")
    text = verdict(page, "admit")
    assert "Bea From V1" in text and "decided offline" in text
