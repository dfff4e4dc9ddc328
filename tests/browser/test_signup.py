"""In Chromium: an organizer signs up, reaches their dashboard, and invites a teammate by link.

axe-core finds no problem of any impact on the sign-up and team pages.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.a11y import axe_violations
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser



def _watch_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Status lines for our own 400 form answers (and /favicon.ico) are not script errors; CSP refusals are.
    page.on("console", lambda msg: msg.type == "error" and not msg.text.startswith("Failed to load resource")
            and errors.append(msg.text))
    return errors


def test_organizer_signs_up_invites_and_teammate_joins(live_server, launch_browser):
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
    assert axe_violations(page) == []

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
    assert axe_violations(page) == []
    assert errors == []

    # The teammate opens the link in their own browser, signs up from it and lands on the team page.
    teammate = browser.new_context().new_page()
    teammate_errors = _watch_errors(teammate)
    teammate.goto(live_server.url + link.split("http://localhost", 1)[1])
    assert "Ann for Mayor" in teammate.content()
    teammate.click("text=Create an account and join")
    teammate.fill("#name", "Ben Ruiz")
    teammate.fill("#email", "ben@example.org")
    teammate.fill("#password", "another long passphrase")
    teammate.click("form.form button[type=submit]")
    teammate.wait_for_url(re.compile(r"/auth/campaigns/\d+/team$"))
    assert "You joined Ann for Mayor as viewer." in teammate.content()
    assert not teammate.is_visible("text=Create invite link"), "viewers cannot invite"
    assert teammate_errors == []
