"""Cancelling a rally tells everyone who RSVPed, once, each in their own language."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy

import pytest
from icalendar import Calendar

from rallies.database import atomic
from rallies.extensions import db
from rallies.mail import delivery
from rallies.models import Supporter, utcnow
from tests.factories import campaign_of
from tests.stored import outbox, rsvp_by_email
from tests.web import rsvp_post

START = datetime(2030, 5, 1, 23, 0, tzinfo=UTC)  # Wednesday, May 1, 2030, 6:00 PM CDT


@pytest.fixture
def organizer(client, make_user, login):
    return login(client, make_user())


def _message(row):
    return email.message_from_bytes(delivery.render_body(row), policy=policy.default)


def _set_supporter(rally, address, **values):
    with atomic():
        supporter = db.session.get(Supporter, rsvp_by_email(rally, address).supporter_id)
        for name, value in values.items():
            setattr(supporter, name, value)


def test_cancellation_reaches_everyone_once_in_their_language(client, organizer, make_rally):
    rally = make_rally(campaign_of(organizer), capacity=1, max_guests=0, starts_at=START)
    for who in ("en", "es", "wait", "out"):
        rsvp_post(client, rally, email=f"{who}@example.org", name=who)
    _set_supporter(rally, "es@example.org", locale="es")
    _set_supporter(rally, "out@example.org", email_opt_out_at=utcnow())  # still told: it is their rally
    resp = client.post(f"/organize/rallies/{rally.id}/cancel", data={"message": "Storm warning"})
    assert resp.status_code == 302
    rows = outbox("rally_cancelled")
    assert sorted(r.to_addr for r in rows) == ["en@example.org", "es@example.org", "out@example.org",
                                               "wait@example.org"]
    spanish = _message(next(r for r in rows if r.to_addr == "es@example.org"))
    html = spanish.get_body(("html",)).get_content()
    assert '<html lang="es">' in html and spanish["Content-Language"] == "es"
    assert "miércoles, 1 de mayo de 2030" in html  # the date written by Babel in Spanish
    english = _message(next(r for r in rows if r.to_addr == "en@example.org"))
    assert '<html lang="en">' in english.get_body(("html",)).get_content() and english["Content-Language"] == "en"
    assert "Wednesday, May 1, 2030, 6:00 PM CDT" in english.get_body(("plain",)).get_content()
    assert english["Subject"] == f"Cancelled: {rally.title}"
    (part,) = [p for p in english.walk() if p.get_content_type() == "text/calendar"]
    cal = Calendar.from_ical(part.get_content())
    assert str(cal["method"]) == "CANCEL" and str(cal.walk("VEVENT")[0]["status"]) == "CANCELLED"
    # Published again and cancelled again: no one is told twice.
    client.post(f"/organize/rallies/{rally.id}/republish")
    client.post(f"/organize/rallies/{rally.id}/cancel", data={"message": "Really cancelled"})
    assert len(outbox("rally_cancelled")) == 4


def test_cancellation_reaches_unconfirmed_rsvps(client, organizer, make_rally):
    rally = make_rally(campaign_of(organizer), confirm_by_email=True, starts_at=START)
    rsvp_post(client, rally, email="maybe@example.org")
    assert rsvp_by_email(rally, "maybe@example.org").status == "unconfirmed"
    client.post(f"/organize/rallies/{rally.id}/cancel", data={"message": "Sorry"})
    assert [r.to_addr for r in outbox("rally_cancelled")] == ["maybe@example.org"]


def test_campaign_default_language_when_the_supporter_chose_none(client, organizer, make_rally):
    campaign = campaign_of(organizer)
    with atomic():
        db.session.merge(campaign).default_locale = "es"
    rally = make_rally(campaign, starts_at=START)
    rsvp_post(client, rally, email="x@example.org")
    client.post(f"/organize/rallies/{rally.id}/cancel", data={"message": "Lo sentimos"})
    (row,) = outbox("rally_cancelled")
    assert '<html lang="es">' in _message(row).get_body(("html",)).get_content()
