"""The door scanner in headless Chromium: a fake camera showing a real ticket's QR, verdict screens,
and offline scans that survive a reload and reach the server exactly once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from rallies.models import utcnow
from tests.factories import PASSWORD, campaign_of, door_link, door_session, live_rally, make_door, make_ticket

pytestmark = pytest.mark.browser

FAKE_CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def write_y4m(path, text: str, frames: int = 6, size=(640, 480)) -> None:
    """A YUV4MPEG2 (4:2:0) video whose every frame shows the QR code of text, black on white."""
    import numpy as np
    import qrcode
    from PIL import Image

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=6)
    qr.add_data(qrcode.util.QRData(text, mode=qrcode.util.MODE_ALPHA_NUM) if text.isupper() else text)
    qr.make(fit=True)
    image = qr.make_image(fill_color="black", back_color="white").convert("L")
    side = min(size) * 3 // 5  # inside the decoder's default scan region (the central 2/3 square)
    image = image.resize((side, side), Image.NEAREST)
    frame = Image.new("L", size, 255)
    frame.paste(image, ((size[0] - side) // 2, (size[1] - side) // 2))
    y = np.asarray(frame, dtype=np.uint8)
    chroma = np.full((size[1] // 2) * (size[0] // 2), 128, dtype=np.uint8).tobytes()
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{size[0]} H{size[1]} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + y.tobytes() + chroma + chroma)


def open_door_link(page, base, secret_url_path, device):
    """Open a door link like a volunteer: name the device, land on the scanner."""
    page.goto(base + secret_url_path)
    page.fill("#device_name", device)
    page.click("form button[type=submit]")
    page.wait_for_selector("body[data-ready='1']")


def link_path(door, role="scanner"):
    return f"/door/l/{door_link(door, role)[1]}"


def verdict(page, expected: str) -> str:
    """Wait for the next verdict screen, check which it is, return its text and dismiss it."""
    try:
        page.wait_for_selector("#verdict:not([hidden])", timeout=20000)
    except Exception:
        print("DEBUG", page.inner_text("#camera-note"), page.evaluate("document.getElementById('camera').videoWidth"),
              page.evaluate("document.getElementById('camera').readyState"), page.inner_text("#recent"))
        raise
    shown = page.get_attribute("#verdict", "data-verdict")
    text = page.inner_text("#verdict")
    assert shown == expected, text
    page.click("#verdict")
    return text


def test_camera_admits_then_already_then_forged_is_invalid(make_user, make_rally, live_server, launch_browser,
                                                           tmp_path):
    user = make_user()
    rally = make_rally(campaign_of(user), title="Chicago Rally")
    north, west = make_door(rally, "North gate"), make_door(rally, "West gate")
    _rsvp, code = make_ticket(rally, name="Maria Garcia", guests=1)
    video = tmp_path / "ticket.y4m"
    write_y4m(video, code)
    camera = FAKE_CAMERA + [f"--use-file-for-fake-video-capture={video}"]
    first = launch_browser(camera).new_context().new_page()
    open_door_link(first, live_server.url, link_path(north), "North phone")
    first.bring_to_front()  # the QR decoder runs on animation frames, which hidden pages do not get
    first.click("#camera-toggle")
    text = verdict(first, "admit")
    assert "Maria G." in text and "Party of 2" in text
    second = launch_browser(camera).new_context().new_page()  # another phone at another door
    open_door_link(second, live_server.url, link_path(west), "West phone")
    second.bring_to_front()
    second.click("#camera-toggle")
    text = verdict(second, "already")
    assert "North gate" in text and "North phone" in text
    forged = code[:-6] + ("A" if code[-6] != "A" else "B") + code[-5:]
    second.click("#camera-toggle")  # stop the camera; a keyboard-wedge scanner types the code + Enter
    second.fill("#code", forged)
    second.press("#code", "Enter")
    assert "not a valid ticket" in verdict(second, "invalid").lower()
    from rallies.extensions import db
    from rallies.models import Rally

    db.session.rollback()
    assert db.session.get(Rally, rally.id).checked_in_people == 2


def _wait_synced(page):
    expect(page.locator("#synced")).to_have_text(re.compile(r"^synced "), timeout=20000)


def _queued(page) -> str:
    return page.inner_text("#queued")


def test_offline_scan_survives_reload_and_uploads_once(make_user, make_rally, live_server, launch_browser):
    from rallies.extensions import db
    from rallies.models import Rally, ScanLog

    user = make_user()
    rally = make_rally(campaign_of(user), title="Chicago Rally")
    north, west = make_door(rally, "North gate"), make_door(rally, "West gate")
    rsvp, code = make_ticket(rally, name="Ana Lopez")
    _other, shared = make_ticket(rally, name="Sam Shared")
    browser = launch_browser()
    ctx_a, ctx_b = browser.new_context(), browser.new_context()
    a, b = ctx_a.new_page(), ctx_b.new_page()
    open_door_link(a, live_server.url, link_path(north), "North phone")
    open_door_link(b, live_server.url, link_path(west), "West phone")
    for page in (a, b):
        _wait_synced(page)
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.reload()  # now the service worker controls the page and holds a copy of it
        page.wait_for_selector("body[data-ready='1']")
    ctx_a.set_offline(True)
    ctx_b.set_offline(True)
    a.fill("#code", code)
    a.press("#code", "Enter")
    assert "decided offline" in verdict(a, "admit")
    assert _queued(a) == "1 queued"
    assert a.evaluate("window.door.lastDecisionMs") < 1000  # sanity only; the benchmark measures it
    a.reload()  # offline reload: the page comes from the service worker, the queue from IndexedDB
    a.wait_for_selector("body[data-ready='1']")
    assert _queued(a) == "1 queued"
    # Two offline devices admit the same ticket.
    for page in (a, b):
        page.fill("#code", shared)
        page.press("#code", "Enter")
        verdict(page, "admit")
    ctx_a.set_offline(False)
    ctx_b.set_offline(False)
    for page in (a, b):
        page.evaluate("window.door.syncOnce()")
        expect(page.locator("#queued")).to_have_text("0 queued", timeout=20000)
    db.session.rollback()
    admits = db.session.scalars(db.select(ScanLog).where(ScanLog.rsvp_id == rsvp.id)).all()
    assert [(s.verdict, s.offline) for s in admits] == [("admit", True)]
    assert db.session.get(Rally, rally.id).checked_in_people == 2
    # The organizer's conflict report lists the shared ticket with both doors.
    organizer = browser.new_context().new_page()
    organizer.goto(f"{live_server.url}/auth/login")
    organizer.fill("input[name=email]", user.email)
    organizer.fill("input[name=password]", PASSWORD)
    organizer.click("form button[type=submit]")
    organizer.goto(f"{live_server.url}/door/rally/{rally.id}/conflicts")
    report = organizer.inner_text("table.conflicts")
    assert "Sam S." in report and "North gate" in report and "West gate" in report


def test_revoked_link_shows_a_clear_message(make_user, make_rally, live_server, page):
    from rallies.database import atomic
    from rallies.extensions import db
    from rallies.models import DoorLink

    user = make_user()
    rally = make_rally(campaign_of(user))
    door = make_door(rally)
    _ctx, _secret, _link = door_session(door)
    path = link_path(door)
    open_door_link(page, live_server.url, path, "Phone")
    # The page's start-up requests (first sync, its offline copy) must not meet the revoked link: that
    # answer deletes the door cookie, and the banner would then say the device is not signed in.
    _wait_synced(page)
    assert page.evaluate("""async () => {
        const pages = await caches.open('rallies-door-pages');
        for (let i = 0; i < 200; i++) {
            if (await pages.match(location.pathname)) return true;
            await new Promise(done => setTimeout(done, 100));
        }
        return false;
    }""")
    with atomic():
        for link in db.session.scalars(db.select(DoorLink)):
            link.revoked_at = utcnow()
    page.evaluate("window.door.syncOnce()")
    page.wait_for_selector("#banner:not([hidden])", timeout=20000)
    assert "revoked" in page.inner_text("#banner")


def test_search_walkin_party_and_supervisor_undo(make_user, live_server, page):
    from rallies.extensions import db
    from rallies.models import Rally, Rsvp

    user = make_user()
    # Doors open now (walk-ins only then), and the organizer lets 5 walk-ins in even when full.
    rally = live_rally(campaign_of(user), capacity=1, walkin_limit=5)
    door = make_door(rally)
    rsvp, code = make_ticket(rally, name="José Álvarez", guests=2)
    open_door_link(page, live_server.url, link_path(door, role="supervisor"), "Boss phone")
    # Search ignoring accents and case, then admit from the result.
    page.fill("#search", "alvarez")
    page.press("#search", "Enter")
    page.wait_for_selector("#results li button")
    assert "José Á." in page.inner_text("#results")
    page.click("#results li button")
    text = verdict_keep(page, "admit")
    assert "Party of 3: admit 3" in text
    page.click("#v-actions button:has-text('Only 1 here now')")  # only one came in so far
    assert "1 of 3 now checked in" in verdict_keep(page, "undo")
    page.click("#verdict")
    # Scanning again admits the rest of the party.
    page.fill("#code", code)
    page.press("#code", "Enter")
    assert "admit 2" in verdict_keep(page, "admit")
    page.click("#verdict")
    # Supervisor undo, with a reason: it takes back the latest admission (the two who came later).
    page.fill("#code", code)
    page.press("#code", "Enter")
    verdict_keep(page, "already")
    page.click("#v-actions button:has-text('Undo check-in')")
    page.fill("#v-actions input", "wrong person")
    page.click("#v-actions button:has-text('Confirm undo')")
    assert "1 of 3 now checked in" in verdict_keep(page, "undo")
    page.click("#verdict")
    # A walk-in over capacity.
    page.click(".door-walkin summary")
    page.fill("#w-name", "Walk Inn")
    page.fill("#w-guests", "1")
    page.click("#walkin-form button[type=submit]")
    assert "over capacity" in verdict_keep(page, "admit")
    db.session.rollback()
    assert db.session.get(Rally, rally.id).walkin_people == 2
    assert db.session.get(Rsvp, rsvp.id).checked_in_people == 1


def verdict_keep(page, expected: str) -> str:
    """The verdict screen's text once it shows `expected` (left open for its buttons)."""
    page.wait_for_selector(f"#verdict[data-verdict='{expected}']:not([hidden])", timeout=20000)
    return page.inner_text("#verdict")
