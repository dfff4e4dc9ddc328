"""Which language a page is served in: the picker's choice, then Accept-Language, then English."""

from __future__ import annotations

import re

import pytest

from tests import factories


def _lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


@pytest.fixture
def rally(campaign):
    return factories.live_rally(campaign)


def test_english_without_any_signal(client, rally):
    page = client.get(f"/r/{rally.slug}")
    assert _lang(page) == "en"
    assert "Rallies is open-source software." in page.get_data(as_text=True)


def test_browser_language_is_used(client, rally):
    page = client.get(f"/r/{rally.slug}", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert _lang(page) == "es"
    assert "Rallies es software de código abierto." in page.get_data(as_text=True)


def test_unsupported_browser_language_falls_back_to_english(client, rally):
    assert _lang(client.get(f"/r/{rally.slug}", headers={"Accept-Language": "de-DE"})) == "en"


def test_picker_choice_is_remembered_over_the_browser(client, rally):
    chosen = client.post("/language", data={"lang": "es", "next": f"/r/{rally.slug}"})
    assert chosen.status_code == 303 and chosen.headers["Location"].endswith(f"/r/{rally.slug}")
    assert _lang(client.get(f"/r/{rally.slug}", headers={"Accept-Language": "en-US"})) == "es"
    client.post("/language", data={"lang": "en", "next": "/"})
    assert _lang(client.get(f"/r/{rally.slug}", headers={"Accept-Language": "es"})) == "en"


def test_picker_refuses_an_offsite_next_and_unknown_language(client):
    chosen = client.post("/language", data={"lang": "xx", "next": "//evil.example/"})
    assert chosen.headers["Location"] == "/"
    assert "lang=en" in chosen.headers["Set-Cookie"]


def test_picker_needs_csrf(app_factory):
    strict = app_factory(WTF_CSRF_ENABLED=True).test_client()
    assert strict.post("/language", data={"lang": "es", "next": "/"}).status_code == 400


def test_campaign_default_when_the_browser_names_no_supported_language(client, campaign, rally):
    from rallies.database import atomic

    with atomic():
        campaign.default_locale = "es"
    assert _lang(client.get(f"/r/{rally.slug}", headers={"Accept-Language": "de-DE"})) == "es"
    assert _lang(client.get(f"/r/{rally.slug}/rsvp", headers={"Accept-Language": "de-DE"})) == "es"
    assert _lang(client.get(f"/r/{rally.slug}", headers={"Accept-Language": "en-US"})) == "en"  # the browser wins
