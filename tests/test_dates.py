"""Issue 12: one way to write a moment (rallies/dates.py), on every page and in the ticket email."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from rallies.dates import local_time
from tests.factories import campaign_of, door_session, make_door, make_rsvp, make_ticket
from tests.stored import outbox

#: 00:00 UTC on June 15, 2030 is 7:00 PM on Friday, June 14 in Chicago (CDT).
MOMENT = datetime(2030, 6, 15, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("style", "expected"), [
    ("full", "Friday, June 14, 2030, 7:00 PM CDT"),
    ("short", "Jun 14, 2030, 7:00 PM CDT"),
    ("seconds", "Jun 14, 2030, 7:00:00 PM CDT"),
    ("time", "7:00 PM CDT"),
    ("date", "Jun 14, 2030 CDT"),
])
def test_each_style(style, expected):
    assert local_time(MOMENT, "America/Chicago", style) == expected


def test_winter_iso_strings_naive_times_and_odd_zones():
    assert local_time("2030-01-15T01:30:00+00:00", "America/Chicago", "time") == "7:30 PM CST"
    assert local_time(datetime(2030, 1, 15, 1, 30), "UTC", "time") == "1:30 AM UTC"  # naive means UTC
    assert local_time(MOMENT, "Asia/Riyadh", "time") == "3:00 AM UTC+03"  # tzdata has no letters for it
    assert local_time(MOMENT, "Not/AZone", "time") == "12:00 AM UTC"
    assert local_time(None, "America/Chicago") == ""


def _text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<option\b.*?</option>", " ", html, flags=re.S)  # the zone picker lists IANA names
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_supporter_pages_and_email_write_times_one_way_without_iana_names(client, make_user, make_rally):
    rally = make_rally(campaign_of(make_user()), starts_at=MOMENT, title="Date rally")
    result = make_rsvp(rally, email="dates@example.org")
    when = "Friday, June 14, 2030, 7:00 PM CDT"
    for path in (f"/r/{rally.slug}", f"/r/{rally.slug}/rsvp", f"/t/{result.token}"):
        text = _text(client.get(path).get_data(as_text=True))
        assert when in text, path
        assert "America/Chicago" not in text, path
    (mail,) = outbox("confirmation", "dates@example.org")
    from email import message_from_bytes, policy

    from rallies.mail.delivery import render_body

    message = message_from_bytes(render_body(mail), policy=policy.default)
    bodies = [part.get_content() for part in message.walk() if part.get_content_type() in ("text/plain", "text/html")]
    assert len(bodies) == 2
    for body in bodies:
        assert when in _text(body) and "America/Chicago" not in body


def test_organizer_pages_write_times_one_way(client, login, make_user, make_rally):
    user = make_user()
    rally = make_rally(campaign_of(user), starts_at=MOMENT, title="Date rally")
    door = make_door(rally)
    _ctx, _secret, _link = door_session(door)
    make_ticket(rally)
    login(client, user)
    pages = {f"/organize/rallies/{rally.id}": "Friday, June 14, 2030, 7:00 PM CDT",
             f"/turnout/campaigns/{rally.campaign_id}/": "Jun 14, 2030, 7:00 PM CDT",
             f"/turnout/rallies/{rally.id}/": "Friday, June 14, 2030, 7:00 PM CDT",
             f"/door/rally/{rally.id}/": re.compile(r"\d:\d\d [AP]M C[SD]T")}  # the link's expiry, from now
    for path, expected in pages.items():
        text = _text(client.get(path).get_data(as_text=True))
        assert (expected.search(text) if isinstance(expected, re.Pattern) else expected in text), path
        assert "America/Chicago" not in text, path
        assert not re.search(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}", text), path  # no 24-hour ISO-style times


@pytest.mark.parametrize(("style", "expected"), [
    ("full", "viernes, 14 de junio de 2030, 7:00 p.m. hora central"),
    ("short", "14 jun 2030, 7:00 p.m. hora central"),
    ("seconds", "14 jun 2030, 7:00:00 p.m. hora central"),
    ("time", "7:00 p.m. hora central"),
    ("date", "14 jun 2030 hora central"),
])
def test_each_style_in_spanish(style, expected):
    """Issue 13: Babel writes the moment the Latin-American way, and names the zone in Spanish."""
    assert local_time(MOMENT, "America/Chicago", style, locale="es") == expected


def test_spanish_odd_zones_and_unknown_languages():
    assert local_time(MOMENT, "UTC", "time", locale="es") == "12:00 a.m. UTC"
    assert local_time(MOMENT, "America/Chicago", "time", locale="xx") == "7:00 PM CDT"  # English, as before


def test_pages_follow_the_reader_language(client, make_user, make_rally):
    rally = make_rally(campaign_of(make_user()), starts_at=MOMENT, title="Date rally")
    text = _text(client.get(f"/r/{rally.slug}", headers={"Accept-Language": "es"}).get_data(as_text=True))
    assert "viernes, 14 de junio de 2030, 7:00 p.m. hora central" in text


def test_numbers_follow_the_reader_language():
    from rallies.dates import number

    assert number(1234.56, "#,##0.0", locale="en") == "1,234.6"
    assert number(1234.56, "#,##0.0", locale="es") == "1,234.6"  # Latin-American Spanish, like the dates
    assert number(None) == ""
