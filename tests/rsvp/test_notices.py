"""Rally changed / cancelled notices and the day-before reminder command."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime, timedelta
from email import policy

from rallies.database import atomic
from rallies.extensions import db
from rallies.keys.link_secrets import page_token
from rallies.mail import delivery
from rallies.models import Rally
from rallies.rsvp import notices
from tests.stored import outbox, rsvp_by_email
from tests.web import rsvp_post, token_from


def _people(client, rally):
    """Two going, one waitlisted, one cancelled (capacity 2)."""
    rsvp_post(client, rally, email="g1@example.org", name="Going One")
    rsvp_post(client, rally, email="g2@example.org", name="Going Two")
    rsvp_post(client, rally, email="w@example.org", name="Wait Ing")
    t = token_from(rsvp_post(client, rally, email="c@example.org", name="Can Celled"))
    client.post(f"/t/{t}/cancel")


def _parse(row):
    return email.message_from_bytes(delivery.render_body(row), policy=policy.default)


def test_rally_changed_notice_goes_to_going_and_waitlisted(client, campaign, make_rally):
    rally = make_rally(campaign, capacity=2, max_guests=0)
    _people(client, rally)
    old_start = rally.starts_at
    new_start = old_start + timedelta(hours=1)
    with atomic():
        r = db.session.get(Rally, rally.id)
        r.starts_at, r.venue_name = new_start, "Grant Park"
        sent = notices.rally_changed(r, {"starts_at": (old_start, new_start), "venue_name": ("Union Park", "Grant Park"),
                                         "city": ("Chicago", "Chicago")})
    assert sent == 3
    rows = outbox("rally_changed")
    assert sorted(r.to_addr for r in rows) == ["g1@example.org", "g2@example.org", "w@example.org"]
    msg = _parse(rows[0])
    text = msg.get_body(("plain",)).get_content()
    assert "Venue: Grant Park (was: Union Park)" in text
    assert re.search(r"[AP]M C[SD]T", text) and "America/Chicago" not in text and "City" not in text  # unchanged fields are left out
    assert any(p.get_content_type() == "text/calendar" for p in msg.walk())
    with atomic():
        assert notices.rally_changed(db.session.get(Rally, rally.id), {"city": ("A", "A")}) == 0


def test_rally_cancelled_notice_once_per_person(client, campaign, make_rally):
    rally = make_rally(campaign, capacity=2, max_guests=0)
    _people(client, rally)
    with atomic():
        r = db.session.get(Rally, rally.id)
        r.status, r.cancel_message = "cancelled", "Storm warning <stay safe>"
        assert notices.rally_cancelled(r) == 3
    with atomic():
        notices.rally_cancelled(db.session.get(Rally, rally.id))  # e.g. a retried request
    rows = outbox("rally_cancelled")
    assert len(rows) == 3
    html = _parse(rows[0]).get_body(("html",)).get_content()
    assert "Storm warning &lt;stay safe&gt;" in html
    ics = next(p for p in _parse(rows[0]).walk() if p.get_content_type() == "text/calendar").get_content()
    assert "STATUS:CANCELLED" in ics
    # The ticket page says so, and RSVPs are refused.
    t = page_token(rsvp_by_email(rally, "g1@example.org"))
    assert "This rally has been cancelled" in client.get(f"/t/{t}").get_data(as_text=True)
    assert rsvp_post(client, rally, email="late@example.org").status_code == 409


def test_send_reminders_is_idempotent(client, runner, campaign, make_rally):
    soon = make_rally(campaign, capacity=2, max_guests=0, starts_at=datetime.now(UTC) + timedelta(hours=20))
    later = make_rally(campaign, starts_at=datetime.now(UTC) + timedelta(days=5))
    _people(client, soon)
    rsvp_post(client, later, email="later@example.org")
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0 and "Queued 2 reminder(s)." in result.output
    again = runner.invoke(args=["send-reminders"])
    assert "Queued 0 reminder(s)." in again.output
    rows = outbox("reminder")
    assert sorted(r.to_addr for r in rows) == ["g1@example.org", "g2@example.org"]
    assert rsvp_by_email(soon, "g1@example.org").reminder_sent_at is not None
    assert rsvp_by_email(soon, "w@example.org").reminder_sent_at is None
    # The one-click links are absolute, signed, and work (GET confirms, POST acts).
    text = _parse(rows[0]).get_body(("plain",)).get_content()
    no_link = re.search(r"I can't make it: (\S+)", text).group(1)
    assert no_link.startswith("http://localhost/t/") and "sig=" in no_link
    path = no_link.replace("http://localhost", "")
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 303
    assert rsvp_by_email(soon, rows[0].to_addr).status == "cancelled"
    assert rsvp_by_email(soon, "w@example.org").status == "going"  # promoted into the freed place
