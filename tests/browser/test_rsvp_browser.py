"""In Chromium: a supporter RSVPs with a guest, lands on the ticket, cancels, and the first waitlisted
person is promoted; axe-core finds no problem of any impact on the RSVP and ticket pages."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
import sqlalchemy as sa
from flask import request

from rallies.extensions import db
from rallies.models import Rsvp
from rallies.rsvp import tickets
from tests.browser.a11y import axe_violations
from tests.factories import campaign_of, make_rsvp

pytestmark = pytest.mark.browser



def _offline(context):
    # Map tiles would leave the machine: refuse everything that is not the live server.
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())


def _decode(png: bytes) -> str:
    """OpenCV's reading of a screenshot (independent of qrcode, which drew the SVG)."""
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    for detector in (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector()):
        text, points, _ = detector.detectAndDecode(image)
        if points is not None and text:
            return text
    return ""


def _status(rally_id, email):
    db.session.rollback()
    return db.session.scalar(sa.select(Rsvp.status).where(Rsvp.rally_id == rally_id, Rsvp.email == email))


def test_rsvp_with_guest_ticket_cancel_promotes_waitlist(live_server, launch_browser, make_user, make_rally):
    rally = make_rally(campaign_of(make_user()), title="Parks & <Jobs>", capacity=2, max_guests=2)
    rally_id, slug = rally.id, rally.slug
    browser = launch_browser()
    context = browser.new_context()
    _offline(context)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{live_server.url}/r/{slug}/rsvp?utm_source=sms&ref=door-knock")
    assert axe_violations(page) == []
    # First a mistake: the error is shown next to its field and tied to it for screen readers.
    page.fill("#name", "Ana María López")
    page.fill("#email", "not-an-email")
    page.click("form.rsvp-form button[type=submit]")
    error = page.locator("#email-error")
    assert "valid email" in error.inner_text()
    assert page.get_attribute("#email", "aria-describedby").split()[-1] == "email-error"
    assert axe_violations(page) == []
    page.fill("#email", "ana@example.org")
    page.fill("#phone", "(312) 555-0142")
    page.fill("#guests", "1")
    page.click("form.rsvp-form button[type=submit]")
    page.wait_for_url(re.compile(r"/t/[A-Za-z0-9_\-]{43}$"))
    assert "Going" in page.locator(".ticket-status").inner_text()
    assert "2 people" in page.content()
    assert page.locator(".ticket-qr img").is_visible()
    # The code as the phone shows it (the page's PNG, drawn by Chromium) scans and verifies.
    shown = _decode(page.locator(".ticket-qr img").screenshot())
    assert shown == page.locator(".ticket-code-text").inner_text().strip()
    fresh = db.session.get(type(rally), rally_id)
    assert tickets.verify_code(fresh.public_key, rally_id, tickets.parse_code(shown))
    assert axe_violations(page) == []
    ticket_url = page.url

    # Someone else arrives while the rally is full: waitlisted.
    result = make_rsvp(db.session.get(type(rally), rally_id), "Wai Ting", "wait@example.org")
    assert result.outcome == "waitlisted"

    # Cancel: a confirmation step first (no JavaScript needed), then the waitlist moves up.
    page.click("text=Cancel RSVP")
    assert "Cancel your RSVP?" in page.locator("h1").inner_text()
    assert _status(rally_id, "ana@example.org") == "going"
    page.click("text=Yes, cancel my RSVP")
    page.wait_for_url(ticket_url)
    assert "Cancelled" in page.locator(".ticket-status").inner_text()
    assert _status(rally_id, "ana@example.org") == "cancelled"
    assert _status(rally_id, "wait@example.org") == "going"
    db.session.rollback()
    ana = db.session.scalar(sa.select(Rsvp).where(Rsvp.email == "ana@example.org"))
    assert (ana.guests, ana.phone, ana.utm_source, ana.ref) == (1, "+13125550142", "sms", "door-knock")
    assert errors == []
    context.close()


def test_form_works_without_javascript(live_server, launch_browser, make_user, make_rally):
    rally = make_rally(campaign_of(make_user()))
    slug = rally.slug
    context = launch_browser().new_context(java_script_enabled=False)
    _offline(context)
    page = context.new_page()
    page.goto(f"{live_server.url}/r/{slug}/rsvp")
    page.fill("#name", "No Script")
    page.fill("#email", "nojs@example.org")
    page.click("form.rsvp-form button[type=submit]")
    page.wait_for_url(re.compile(r"/t/"))
    page.click("text=Change guests")
    page.fill("#guests", "2")
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/t/[A-Za-z0-9_\-]{43}$"))
    assert "3 people" in page.content()
    context.close()


def test_reload_answered_304_keeps_the_map_script_running(live_server, launch_browser, make_user, make_rally):
    """A 304 sends no new CSP: the cached page's nonce still matches its inline map script."""
    rally = make_rally(campaign_of(make_user()), title="Reload Rally")
    result = make_rsvp(rally, "Re Load", "reload@example.org")
    # No request routing here (Playwright turns the HTTP cache off with it): map tiles resolve nowhere instead.
    browser = launch_browser(["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
    page = browser.new_context().new_page()
    statuses, blocked = [], []

    @live_server.app.after_request
    def _seen(response):
        if request.path.endswith(result.token):
            statuses.append((response.status_code, request.headers.get("If-None-Match")))
        return response

    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{live_server.url}/t/{result.token}")
    page.wait_for_selector(".leaflet-marker-icon")
    page.goto(f"{live_server.url}/t/{result.token}")
    page.wait_for_selector(".leaflet-marker-icon")
    assert [code for code, _ in statuses] == [200, 304]
    assert "Going" in page.locator(".ticket-status").inner_text() and blocked == []
