"""Supporter email in the supporter's language (issue 13): rendered by the outbox sender with no request,
under force_locale(the language they RSVPed in, else the campaign's default, else English)."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy

import sqlalchemy as sa

from rallies.database import atomic
from rallies.extensions import db
from rallies.mail import delivery
from rallies.models import Rally, Supporter
from rallies.rsvp import notices
from tests.factories import campaign_of, make_rsvp
from tests.stored import outbox


def _message(row) -> email.message.EmailMessage:
    return email.message_from_bytes(delivery.render_body(row), policy=policy.default)


def test_rsvp_language_is_saved_and_later_email_follows_it(client, make_user, make_rally):
    rally = make_rally(campaign_of(make_user()), title="River rally", translations={"es": {"title": "Mitin del río"}},
                       starts_at=datetime(2030, 6, 15, 0, 0, tzinfo=UTC))
    make_rsvp(rally, email="sofia@example.org", name="Sofía", locale="es")
    supporter = db.session.scalar(sa.select(Supporter).where(Supporter.email == "sofia@example.org"))
    assert supporter.locale == "es"
    with atomic():
        r = db.session.get(Rally, rally.id)
        notices.rally_changed(r, {"starts_at": (r.starts_at, r.starts_at + timedelta(hours=1)),
                                  "venue_name": ("Union Park", "Grant Park")})
    message = _message(outbox("rally_changed")[-1])
    assert message["Subject"] == "Cambios: Mitin del río" and message["Content-Language"] == "es"
    text = message.get_body(("plain",)).get_content()
    assert "Hola, Sofía:" in text and "Lugar: Grant Park (antes: Union Park)" in text
    assert "Empieza: viernes, 14 de junio de 2030, 8:00 p.m. hora central" in text
    assert "Starts" not in text and "PM" not in text


def test_campaign_default_language_when_the_supporter_never_chose(client, make_user, make_rally):
    campaign = campaign_of(make_user())
    with atomic():
        campaign.default_locale = "es"
    rally = make_rally(campaign, title="River rally")
    result = make_rsvp(rally, email="nochoice@example.org")  # no page language: a CLI or organizer add
    with atomic():
        notices.cancellation_email(db.session.get(type(result.rsvp), result.rsvp_id))
    message = _message(outbox("cancellation")[-1])
    assert message["Content-Language"] == "es" and message["Subject"].startswith("Tu confirmación está cancelada")
    html = message.get_body(("html",)).get_content()
    assert '<html lang="es">' in html and 'lang="en">River rally</span>' in html  # untranslated title marked


def test_error_pages_speak_spanish(client):
    page = client.get("/no-such-page", headers={"Accept-Language": "es"})
    html = page.get_data(as_text=True)
    assert page.status_code == 404 and "Página no encontrada" in html and "No encontramos esa página." in html
