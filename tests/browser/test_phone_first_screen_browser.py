"""Issue 12, on a 390 x 844 phone in Chromium: the next step is on the first screen, and tap targets are big enough."""

from __future__ import annotations

import re

import pytest

from tests.browser.screenshots import save
from tests.factories import campaign_of, make_rsvp

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
MIN_TARGET = 44


@pytest.fixture
def phone(launch_browser, live_server):
    browser = launch_browser()
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())  # map tiles
    return context.new_page()


def _top(page, selector) -> float:
    """Where an element starts, in page pixels from the top of the document."""
    return page.eval_on_selector(selector, "el => el.getBoundingClientRect().top + window.scrollY")


def _bottom(page, selector) -> float:
    return page.eval_on_selector(selector, "el => el.getBoundingClientRect().bottom + window.scrollY")


def _small_targets(page) -> list:
    """Visible controls shorter than MIN_TARGET (a checkbox counts with its label's line)."""
    return page.evaluate("""(min) => {
      const out = [];
      for (const el of document.querySelectorAll('main input:not([type=hidden]), main select, main button, main .button')) {
        const r = el.getBoundingClientRect();
        if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden') continue;
        if (el.closest('.hp-field')) continue;  // the honeypot is off-screen on purpose
        let h = r.height;
        if (el.type === 'checkbox' && el.labels.length) h = Math.max(h, el.labels[0].getBoundingClientRect().height);
        if (h < min) out.push([el.outerHTML.slice(0, 80), h]);
      }
      return out;
    }""", MIN_TARGET)


def test_ticket_page_shows_the_qr_on_the_first_screen_after_an_rsvp(make_user, make_rally, live_server, phone):
    rally = make_rally(campaign_of(make_user()), title="Phone rally", venue_name="Union Park")
    phone.goto(f"{live_server.url}/r/{rally.slug}")
    # The rally page: an RSVP button without scrolling, which leads to the form.
    assert _bottom(phone, ".rsvp-jump .button") <= PHONE["height"]
    save(phone, "phone-rally-page")
    phone.click(".rsvp-jump .button")
    phone.fill("#name", "Ana López")
    phone.fill("#email", "ana.phone@example.org")
    assert not _small_targets(phone), _small_targets(phone)
    phone.click("form.rsvp-form button[type=submit]")
    phone.wait_for_selector(".ticket-qr img")
    phone.wait_for_load_state("networkidle")
    # After the RSVP (with its flash message) the whole QR is on the first screen.
    assert _bottom(phone, ".ticket-qr img") <= PHONE["height"]
    save(phone, "phone-ticket-after-rsvp")
    code = phone.inner_text(".ticket-code-text").strip()
    assert re.fullmatch(r"\S{20,}", code) and phone.eval_on_selector(
        ".ticket-code-text", "el => parseFloat(getComputedStyle(el).fontSize)") >= 16
    assert not _small_targets(phone), _small_targets(phone)
    # The red cancel button is well apart from the one before it.
    guests, cancel = (phone.locator(".ticket-actions .button").nth(i).bounding_box() for i in (1, 2))
    gap = cancel["x"] - (guests["x"] + guests["width"]) if cancel["y"] == guests["y"] else \
        cancel["y"] - (guests["y"] + guests["height"])
    assert gap >= 16, (guests, cancel)


def test_ticket_opened_from_the_email_shows_the_whole_qr(make_user, make_rally, live_server, phone):
    rally = make_rally(campaign_of(make_user()), title="Phone rally two", venue_name="Union Park")
    result = make_rsvp(rally, email="email.open@example.org")
    phone.goto(f"{live_server.url}/t/{result.token}")
    phone.wait_for_load_state("networkidle")
    assert _bottom(phone, ".ticket-qr img") <= PHONE["height"]


def test_near_me_lists_results_before_the_map(make_user, make_rally, live_server, phone):
    make_rally(campaign_of(make_user()), title="Near rally", postal_code="60607", city="Chicago", state="IL",
               lat=41.87, lon=-87.65, visibility="listed")
    phone.goto(f"{live_server.url}/near?q=60607")
    phone.wait_for_selector(".cards")
    assert _top(phone, ".cards") < _top(phone, ".map-frame")
    save(phone, "phone-near-me")
    assert _top(phone, ".cards") < PHONE["height"]
    assert not _small_targets(phone), _small_targets(phone)
