"""Issue 13 in Chromium: a supporter picks Español on the rally page and RSVPs in Spanish; door staff
whose phone speaks Spanish get Spanish verdicts, online and offline."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.a11y import axe_violations
from tests.browser.test_scanner import link_path, open_door_link, verdict
from tests.factories import campaign_of, make_door, make_ticket

pytestmark = pytest.mark.browser


def _local_only(context):
    # Map tiles would leave the machine: refuse everything that is not the live server.
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())


def test_supporter_picks_spanish_and_gets_a_spanish_ticket(live_server, launch_browser, make_user, make_rally):
    rally = make_rally(campaign_of(make_user()), title="Rally for the river", max_guests=2,
                       translations={"es": {"title": "Mitin por el río"}})
    context = launch_browser().new_context(locale="en-US")
    _local_only(context)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{live_server.url}/r/{rally.slug}")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Rally for the river")
    expect(page.locator("#language-picker-lang option[value=es]")).to_have_attribute("lang", "es")
    page.select_option("#language-picker-lang", "es")
    page.click(".language-picker button[type=submit]")

    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("h1")).to_have_text("Mitin por el río")
    assert page.url.endswith(f"/r/{rally.slug}")  # the picker brings the supporter back where they were
    # A mistake first: the error is in Spanish, next to its field.
    page.fill("#name", "Ana María López")
    page.fill("#email", "no-es-un-correo")
    page.click("form.rsvp-form button[type=submit]")
    expect(page.locator("#email-error")).to_have_text("Escribe un correo válido, como nombre@ejemplo.com.")
    page.fill("#email", "ana@example.org")
    page.fill("#guests", "1")
    page.click("form.rsvp-form button[type=submit]")

    page.wait_for_url(re.compile(r"/t/"))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("h1")).to_have_text("Tu entrada")
    expect(page.locator(".ticket-status")).to_have_text("Vas a asistir")
    body = page.inner_text("main")
    assert "Mitin por el río" in body and "2 personas (tú y 1 invitado)" in body
    assert "hora central" in body or "UTC" in body  # the rally's zone, named in Spanish
    assert "¡Vas a asistir!" in page.inner_text(".flashes")
    assert axe_violations(page) == []  # lang attributes included (valid-lang, html-has-lang)
    assert errors == []


def test_door_staff_in_spanish_see_spanish_verdicts_online_and_offline(make_user, make_rally, live_server,
                                                                        launch_browser):
    rally = make_rally(campaign_of(make_user()), title="Chicago Rally")
    north = make_door(rally, "North gate")
    _rsvp, code = make_ticket(rally, name="Maria Garcia", guests=1)
    _other, second = make_ticket(rally, name="Sam Lee")
    context = launch_browser().new_context(locale="es-MX", extra_http_headers={"Accept-Language": "es-MX,es;q=0.9"})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    open_door_link(page, live_server.url, link_path(north), "Celular norte")

    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("#net")).to_have_text("en línea")
    page.fill("#code", code)
    page.press("#code", "Enter")
    text = verdict(page, "admit")  # the title is shown in capitals (CSS)
    assert "dejar pasar" in text.lower() and "Grupo de 2: pasan 2" in text
    page.fill("#code", code)
    page.press("#code", "Enter")
    assert "ya entró" in verdict(page, "already").lower()
    page.fill("#code", code[:-6] + ("A" if code[-6] != "A" else "B") + code[-5:])
    page.press("#code", "Enter")
    assert "entrada no válida" in verdict(page, "invalid").lower()

    expect(page.locator("#synced")).to_have_text(re.compile(r"^sincronizado "), timeout=20000)
    context.set_offline(True)
    page.evaluate("window.dispatchEvent(new Event('offline'))")
    expect(page.locator("#net")).to_have_text("sin conexión")
    page.fill("#code", second)
    page.press("#code", "Enter")
    text = verdict(page, "admit")
    assert "decidido sin conexión" in text
    expect(page.locator("#queued")).to_have_text("1 en cola")
    assert "(sin conexión)" in page.inner_text("#recent")
    assert errors == []
