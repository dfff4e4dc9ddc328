"""Organizer messages in Chromium: the compose page's live counts, and axe on every messaging page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from rallies.extensions import db
from rallies.messaging import compose, optout
from rallies.models import Rsvp
from tests.browser.a11y import axe_violations
from tests.factories import PASSWORD, campaign_of, make_rally, make_user
from tests.messaging.people import add_person, consented, draft

pytestmark = pytest.mark.browser


@pytest.fixture
def organizer_page(app, live_server, launch_browser):
    owner = make_user(email="messages-owner@example.org")
    rally = make_rally(campaign_of(owner))
    page = launch_browser().new_page()
    page.goto(f"{live_server.url}/auth/login")
    page.fill("input[name=email]", owner.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page, owner, rally


def test_counts_follow_the_segment_and_the_sms_text(live_server, organizer_page):
    page, _owner, rally = organizer_page
    add_person(rally, "Going", **consented())
    add_person(rally, "Waiting One", status="waitlisted")
    add_person(rally, "Waiting Two", status="waitlisted")
    page.goto(f"{live_server.url}/organize/rallies/{rally.id}/messages/new")
    recipients = page.locator('[data-count="recipients"]')
    assert recipients.inner_text() == "1"
    page.select_option("#segment", "waitlisted")
    expect(recipients).to_have_text("2")
    page.select_option("#segment", "going")
    page.select_option("#channel", "sms")
    page.fill("#sms_body", "x" * 100 + "ó")
    expect(page.locator('[data-count="sms_total_segments"]')).to_have_text("2")  # UCS-2: twice the segments


def test_messaging_pages_have_no_axe_violations(live_server, organizer_page):
    page, owner, rally = organizer_page
    rsvp_id = add_person(rally, "Lucía", locale="es", **consented())
    message = compose.create_message(rally, owner, draft(channel="both"))
    supporter_id = db.session.get(Rsvp, rsvp_id).supporter_id
    base = f"/organize/rallies/{rally.id}/messages"
    urls = [base, f"{base}/new", f"{base}/{message.id}?q=luc", f"{base}/{message.id}/preview/{rsvp_id}",
            re.sub(r"^https?://[^/]+", "", optout.unsubscribe_url(supporter_id)),
            re.sub(r"^https?://[^/]+", "", optout.preferences_url(supporter_id))]
    found = {}
    for url in urls:
        assert page.goto(live_server.url + url).status == 200, url
        page.wait_for_load_state("networkidle")
        problems = axe_violations(page)
        if problems:
            found[url] = problems
    assert not found, "\n".join(f"{k}: {v}" for k, v in found.items())
