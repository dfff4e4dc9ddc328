"""In Chromium: an organizer signs up, reaches their dashboard, and invites a teammate by link."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def _watch_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Status lines for our own 400 form answers (and /favicon.ico) are not script errors; CSP refusals are.
    page.on("console", lambda msg: msg.type == "error" and not msg.text.startswith("Failed to load resource")
            and errors.append(msg.text))
    return errors


def test_organizer_signs_up_reaches_dashboard_and_invites(live_server, launch_browser):
    browser = launch_browser()
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    errors = _watch_errors(page)

    page.goto(f"{live_server.url}/auth/login")
    page.click("text=Create an organizer account")
    page.fill("#name", "Ann Lee")
    page.fill("#email", "ann@example.org")
    page.fill("#password", "password123")  # refused first: too common
    page.fill("#campaign_name", "Ann for Mayor")
    page.click("form.form button[type=submit]")
    assert page.text_content("#password-error").strip() == "That password is too common. Choose another."
    assert page.get_attribute("#password", "aria-describedby").endswith("password-error")
    assert page.input_value("#email") == "ann@example.org", "the form keeps what was typed"

    page.fill("#password", PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"/organize/$"))
    assert "Ann for Mayor" in page.content()
    assert page.is_visible("text=Log out")

    page.goto(f"{live_server.url}/auth/campaigns")
    page.click("text=Ann for Mayor")
    page.wait_for_url(re.compile(r"/auth/campaigns/\d+/team$"))
    page.select_option("#role", "viewer")
    page.click("text=Create invite link")
    link = page.input_value("#invite-link")
    assert re.fullmatch(r"http://localhost\S*/auth/invite/[\w-]{40,}", link), link
    page.click("text=Copy link")
    page.wait_for_function("document.querySelector('[data-copy-status=\"invite-link\"]').textContent.length > 0")
    assert page.text_content("[data-copy-status=invite-link]") == "Copied."
    assert page.evaluate("navigator.clipboard.readText()") == link
    assert errors == []
