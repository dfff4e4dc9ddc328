"""Rally content in two languages (issue 13): the organizer's Spanish title and description reach Spanish
readers on every page, the ticket and email; anything left untranslated falls back, marked lang="en"."""

from __future__ import annotations

import re

import sqlalchemy as sa

from rallies.extensions import db
from rallies.models import Rally
from rallies.rallies.texts import cleaned, description_for, text_for, title_for
from tests.factories import campaign_of, make_rsvp
from tests.rallies.test_rallies import create, rally_form

SPANISH = {"Accept-Language": "es"}


def test_title_and_description_fall_back_to_the_main_text():
    rally = Rally(title="River rally", description="Bring water.", translations={"es": {"title": "Mitin del río"}})
    assert title_for(rally, "es") == "Mitin del río" and title_for(rally, "en") == "River rally"
    assert description_for(rally, "es") == "Bring water."  # no Spanish description: the main one
    shown = text_for(rally, "description", "es")
    assert (shown.lang, str(shown.lang_attr)) == ("en", ' lang="en"')
    assert str(text_for(rally, "title", "es").lang_attr) == ""
    assert title_for(rally, "fr") == "River rally"
    assert cleaned({"es": {"title": "  Mitin ", "description": " "}, "pt": {"title": ""}}) == {"es": {"title": "Mitin"}}


def test_organizer_enters_spanish_and_supporters_read_it(client, make_user, login):
    user = make_user()
    login(client, user)
    made = create(client, user, title="River rally", title_es="Mitin del río", description="Bring water.",
                  description_es="Trae agua.")
    assert made.status_code == 302, made.get_data(as_text=True)
    rally = db.session.scalar(sa.select(Rally).where(Rally.title == "River rally"))
    assert rally.translations == {"es": {"title": "Mitin del río", "description": "Trae agua."}}
    assert '<dd lang="es">Mitin del río' in client.get(f"/organize/rallies/{rally.id}").get_data(as_text=True)
    # The edit form shows them again, marked as Spanish for screen readers.
    form = client.get(f"/organize/rallies/{rally.id}/edit").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="title_es"[^>]*lang="es"[^>]*value="Mitin del río"|'
                     r'<input[^>]*lang="es"[^>]*id="title_es"', form)
    assert "Trae agua." in form
    page = client.get(f"/r/{rally.slug}", headers=SPANISH).get_data(as_text=True)
    assert "<h1>Mitin del río</h1>" in page and "Trae agua." in page and "Bring water." not in page
    english = client.get(f"/r/{rally.slug}").get_data(as_text=True)
    assert "<h1>River rally</h1>" in english and "Mitin del río" not in english
    # Clearing the Spanish title on edit drops it.
    client.post(f"/organize/rallies/{rally.id}/edit", data=rally_form(title="River rally", title_es="",
                                                                      description_es="Trae agua."))
    db.session.expire_all()
    assert db.session.get(Rally, rally.id).translations == {"es": {"description": "Trae agua."}}


def test_untranslated_title_is_marked_english_on_a_spanish_ticket(client, make_user, make_rally):
    rally = make_rally(campaign_of(make_user()), title="Only English")
    result = make_rsvp(rally, email="lang@example.org")
    page = client.get(f"/t/{result.token}", headers=SPANISH).get_data(as_text=True)
    assert '<html lang="es">' in page and '<h2 id="ticket-rally" lang="en">Only English</h2>' in page


def test_ticket_page_etag_changes_with_the_language(client, make_user, make_rally):
    rally = make_rally(campaign_of(make_user()), translations={"es": {"title": "Mitin"}})
    result = make_rsvp(rally, email="etag@example.org")
    english = client.get(f"/t/{result.token}")
    spanish = client.get(f"/t/{result.token}", headers={**SPANISH, "If-None-Match": english.headers["ETag"]})
    assert spanish.status_code == 200 and "Mitin" in spanish.get_data(as_text=True)
