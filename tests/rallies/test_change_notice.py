"""The change notice: an edit that moves a rally previews the email, then tells supporters (or not)."""

from __future__ import annotations

import email
import re
from dataclasses import asdict
from datetime import UTC, datetime
from email import policy

import pytest
from icalendar import Calendar

from rallies.database import atomic
from rallies.extensions import db
from rallies.mail import delivery
from rallies.models import Rally, Supporter, utcnow
from rallies.rallies.lifecycle import RallyDetails
from tests.factories import campaign_of
from tests.stored import fresh, outbox, rsvp_by_email
from tests.web import rsvp_post, token_from

START = datetime(2030, 5, 1, 23, 0, tzinfo=UTC)  # 6:00 PM CDT in Chicago


@pytest.fixture
def organizer(client, make_user, login):
    return login(client, make_user())


@pytest.fixture
def rally(organizer, make_rally):
    """Two going (g1, g2) and one waitlisted (w) at a rally for two."""
    return make_rally(campaign_of(organizer), capacity=2, max_guests=0, starts_at=START)


@pytest.fixture
def tokens(client, rally):
    return {who: token_from(rsvp_post(client, rally, email=f"{who}@example.org", name=who.upper()))
            for who in ("g1", "g2", "w")}


def edit_form(rally: Rally, **overrides) -> dict:
    """The edit form as the browser posts it: the rally's details, with ``overrides``."""
    data = {}
    for name, value in asdict(RallyDetails.of(fresh(Rally, rally.id))).items():
        if isinstance(value, bool):
            if value:
                data[name] = "y"
        elif isinstance(value, datetime):
            data[name] = value.strftime("%Y-%m-%dT%H:%M")
        else:
            data[name] = "" if value is None else str(value)
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _calendar_event(ics_text: str):
    cal = Calendar.from_ical(ics_text)
    (event,) = cal.walk("VEVENT")
    return cal, event


def _message(row):
    return email.message_from_bytes(delivery.render_body(row), policy=policy.default)


def test_preview_shows_the_change_and_saves_nothing(client, rally, tokens):
    resp = client.post(f"/organize/rallies/{rally.id}/edit", data=edit_form(rally, starts_local="2030-05-01T19:00"))
    assert resp.status_code == 200
    page = resp.text
    assert "3 supporters going or on the waitlist will be told." in page
    assert "Wednesday, May 1, 2030, 7:00 PM CDT" in page and "Wednesday, May 1, 2030, 6:00 PM CDT" in page
    assert "Changed: " in page and "Your RSVP still stands" in page  # the email as supporters read it
    assert "checked" in re.search(r'<input[^>]*name="notify"[^>]*>', page).group(0)  # telling is the default
    stored = fresh(Rally, rally.id)
    assert stored.starts_at == START and stored.ics_sequence == 0
    assert outbox("rally_changed") == []


def test_confirmed_notice_goes_to_going_and_waitlisted_with_a_newer_calendar(client, rally, tokens):
    original = client.get(f"/t/{tokens['w']}/rally.ics")
    _cal, before = _calendar_event(original.data)
    with atomic():  # campaign messages opted out: a change to their own rally still reaches them
        db.session.get(Supporter, rsvp_by_email(rally, "g2@example.org").supporter_id).email_opt_out_at = utcnow()
    form = edit_form(rally, venue_name="Grant Park", step="confirm", notify="y")
    resp = client.post(f"/organize/rallies/{rally.id}/edit", data=form)
    assert resp.status_code == 302
    assert fresh(Rally, rally.id).ics_sequence == 1
    rows = outbox("rally_changed")
    assert sorted(r.to_addr for r in rows) == ["g1@example.org", "g2@example.org", "w@example.org"]
    waitlisted = _message(next(r for r in rows if r.to_addr == "w@example.org"))
    assert "Venue: Grant Park (was: Union Park)" in waitlisted.get_body(("plain",)).get_content()
    (part,) = [p for p in waitlisted.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REQUEST"
    cal, after = _calendar_event(part.get_content())
    assert str(cal["method"]) == "REQUEST"
    assert str(after["uid"]) == str(before["uid"])
    assert int(after["sequence"]) > int(before["sequence"])
    assert "Grant Park" in str(after["location"])
    assert str(after["attendee"]).lower() == "mailto:w@example.org" and "mailto:" in str(after["organizer"])
    # The ticket page's download carries the new sequence too.
    _cal, download = _calendar_event(client.get(f"/t/{tokens['g1']}/rally.ics").data)
    assert (str(download["uid"]), int(download["sequence"])) == (str(before["uid"]), 1)
    # A double submit (the same form again) changes and sends nothing more.
    assert client.post(f"/organize/rallies/{rally.id}/edit", data=form).status_code == 302
    assert len(outbox("rally_changed")) == 3 and fresh(Rally, rally.id).ics_sequence == 1


def test_saving_without_telling_queues_nothing(client, rally, tokens):
    resp = client.post(f"/organize/rallies/{rally.id}/edit",
                       data=edit_form(rally, starts_local="2030-05-01T19:00", step="confirm"))
    assert resp.status_code == 302
    stored = fresh(Rally, rally.id)
    assert stored.starts_at == datetime(2030, 5, 2, 0, 0, tzinfo=UTC) and stored.ics_sequence == 0
    assert outbox("rally_changed") == []


def test_back_to_editing_keeps_the_typed_values(client, rally, tokens):
    resp = client.post(f"/organize/rallies/{rally.id}/edit",
                       data=edit_form(rally, starts_local="2030-05-01T19:30", step="edit"))
    assert resp.status_code == 200 and 'value="2030-05-01T19:30"' in resp.text
    assert fresh(Rally, rally.id).starts_at == START and outbox("rally_changed") == []


def test_no_preview_when_no_one_would_be_told(client, organizer, make_rally):
    rally = make_rally(campaign_of(organizer), starts_at=START)
    resp = client.post(f"/organize/rallies/{rally.id}/edit", data=edit_form(rally, starts_local="2030-05-01T19:00"))
    assert resp.status_code == 302
    assert fresh(Rally, rally.id).starts_at == datetime(2030, 5, 2, 0, 0, tzinfo=UTC)


def test_other_edits_save_at_once(client, rally, tokens):
    resp = client.post(f"/organize/rallies/{rally.id}/edit", data=edit_form(rally, title="New name"))
    assert resp.status_code == 302 and fresh(Rally, rally.id).title == "New name"
    assert outbox("rally_changed") == []


def test_after_rally_switches_are_on_the_form(client, rally):
    page = client.get(f"/organize/rallies/{rally.id}/edit").text
    assert 'name="send_thank_you"' in page and 'name="send_missed_you"' in page
    form = edit_form(rally)
    form.pop("send_missed_you")
    assert client.post(f"/organize/rallies/{rally.id}/edit", data=form).status_code == 302
    stored = fresh(Rally, rally.id)
    assert stored.send_thank_you is True and stored.send_missed_you is False
