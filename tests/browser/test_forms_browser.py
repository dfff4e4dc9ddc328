"""Issue 12, in Chromium: a failed form shows which fields to fix, links to them, and puts the cursor in the first."""

from __future__ import annotations

import pytest

from tests.browser.screenshots import save
from tests.factories import campaign_of

pytestmark = pytest.mark.browser

BAD = "rgb(176, 0, 32)"  # --bad in app.css


def test_a_failed_rsvp_marks_links_and_focuses_the_bad_fields(make_user, make_rally, live_server, page):
    rally = make_rally(campaign_of(make_user()), title="Form rally")
    page.goto(f"{live_server.url}/r/{rally.slug}/rsvp")
    # The required mark sits on its label's line, above the input.
    label = page.locator("label[for=name]").bounding_box()
    mark = page.locator("label[for=name] + .required, label[for=name] .required").bounding_box()
    field = page.locator("#name").bounding_box()
    assert label["y"] <= mark["y"] < label["y"] + label["height"] <= field["y"]
    page.fill("#email", "not-an-address")
    page.click("form.rsvp-form button[type=submit]")
    page.wait_for_selector(".error-summary")
    assert page.evaluate("document.activeElement.id") == "name"
    save(page, "form-errors")
    links = page.eval_on_selector_all(".error-summary a", "els => els.map(a => a.getAttribute('href'))")
    assert links == ["#name", "#email"]
    for field_id in ("name", "email"):
        style = page.eval_on_selector(f"#{field_id}", "el => [getComputedStyle(el).borderTopColor, "
                                                    "getComputedStyle(el).borderTopWidth]")
        assert style == [BAD, "2px"], (field_id, style)
    assert page.eval_on_selector("#phone", "el => getComputedStyle(el).borderTopColor") != BAD
