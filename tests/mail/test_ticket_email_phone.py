"""Issue 12: the ticket email reads well on a phone: the code as text in both parts, long links that wrap,
and a calendar file with a reminder."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest
from icalendar import Calendar

from rallies.mail.calendar import REMIND_BEFORE
from rallies.mail.delivery import render_body
from rallies.rsvp.tickets import ticket_code
from tests.browser.screenshots import save
from tests.factories import campaign_of, make_rsvp
from tests.stored import outbox


@pytest.fixture
def ticket_mail(make_user, make_rally):
    rally = make_rally(campaign_of(make_user()), title="Email rally")
    result = make_rsvp(rally, email="phone.mail@example.org")
    (row,) = outbox("confirmation", "phone.mail@example.org")
    message = message_from_bytes(render_body(row), policy=policy.default)
    return rally, result, message


def _part(message, content_type: str):
    (part,) = [p for p in message.walk() if p.get_content_type() == content_type]
    return part


def test_the_code_is_text_in_both_parts(ticket_mail):
    rally, result, message = ticket_mail
    code = ticket_code(rally, result.rsvp_id)
    assert code in _part(message, "text/plain").get_content()
    assert code in _part(message, "text/html").get_content()


def test_the_calendar_file_reminds_before_the_rally(ticket_mail):
    rally, _result, message = ticket_mail
    calendar = Calendar.from_ical(_part(message, "text/calendar").get_content())
    (event,) = calendar.walk("VEVENT")
    (alarm,) = event.walk("VALARM")
    assert str(alarm["action"]) == "DISPLAY" and alarm.decoded("trigger") == -REMIND_BEFORE
    assert "Email rally" in str(alarm["description"])


@pytest.mark.browser
def test_the_html_part_fits_a_phone_screen(ticket_mail, page):
    _rally, _result, message = ticket_mail
    html = _part(message, "text/html").get_content()
    html = re.sub(r'src="cid:[^"]+"', 'src=""', html)  # the inline QR is a separate part
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_content(html)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    save(page, "ticket-email-phone", full_page=True)
