"""Issue 14: volunteers are reminded the day before and two hours before their shift, once each; organizers can
message every volunteer of a rally through the outbox."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from rallies.extensions import db
from rallies.mail.outbox import NothingToSend, run_renderer
from rallies.models import OutboxMessage, utcnow
from rallies.rallies.lifecycle import local_naive
from rallies.rsvp.automatic import queue_automatic
from rallies.volunteers.reminders import queue_volunteer_reminders
from rallies.volunteers.signups import cancel_signup
from tests.factories import campaign_of, make_rally, make_shift, make_user, volunteer
from tests.stored import outbox


@pytest.fixture
def shift(app):
    rally = make_rally(campaign_of(make_user()), starts_at=utcnow() + timedelta(days=3))
    return make_shift(rally, starts_at=utcnow() + timedelta(days=2), hours=3)


def _reminders(kind=None):
    rows = [r for r in outbox("volunteer") if (r.render_params or {}).get("template") == "volunteer_reminder"]
    return [r for r in rows if kind is None or r.render_params["kind"] == kind]


def test_the_day_before_and_two_hours_before_each_go_once(shift):
    vera = volunteer(shift, email="vera@example.org")
    start = shift.starts_at
    assert queue_volunteer_reminders(start - timedelta(hours=25)) == 0
    assert queue_volunteer_reminders(start - timedelta(hours=23)) == 1
    assert queue_volunteer_reminders(start - timedelta(hours=22)) == 0  # never twice
    assert queue_volunteer_reminders(start - timedelta(hours=3)) == 0
    assert queue_volunteer_reminders(start - timedelta(hours=1, minutes=59)) == 1
    assert queue_volunteer_reminders(start - timedelta(hours=1)) == 0
    assert queue_volunteer_reminders(start + timedelta(minutes=1)) == 0
    day, soon = _reminders("day"), _reminders("soon")
    assert len(day) == len(soon) == 1 and day[0].to_addr == "vera@example.org"
    text = run_renderer(soon[0]).text
    assert "starts soon" in text and re.search(r"/door/l/[A-Za-z0-9_\-]{43}", text)
    assert f"/volunteer/s/{vera.token}/cancel" in text
    assert "is tomorrow" in run_renderer(day[0]).text


def test_a_late_signup_gets_no_reminder_already_due(shift):
    volunteer(shift)
    late = make_shift(shift.rally, starts_at=utcnow() + timedelta(hours=1), hours=2)
    volunteer(late, email="late@example.org")
    queue_volunteer_reminders()
    assert [r.to_addr for r in _reminders()] == []  # the confirmation already said it all
    next_day = make_shift(shift.rally, starts_at=utcnow() + timedelta(hours=20), hours=2)
    volunteer(next_day, email="tomorrow@example.org")
    assert queue_volunteer_reminders(next_day.starts_at - timedelta(hours=1)) == 1
    assert [r.render_params["kind"] for r in _reminders()] == ["soon"]


def test_cancelled_volunteers_and_cancelled_rallies_get_no_reminder(shift):
    gone = volunteer(shift, email="gone@example.org")
    volunteer(shift, email="stays@example.org")
    from rallies.models import VolunteerSignup

    cancel_signup(db.session.get(VolunteerSignup, gone.signup_id))
    assert queue_volunteer_reminders(shift.starts_at - timedelta(hours=23)) == 1
    assert [r.to_addr for r in _reminders()] == ["stays@example.org"]
    with db.session.begin_nested():
        shift.rally.status = "cancelled"
    db.session.commit()
    assert queue_volunteer_reminders(shift.starts_at - timedelta(hours=1)) == 0
    with pytest.raises(NothingToSend):  # the one queued before the rally was cancelled is not sent
        run_renderer(_reminders()[0])


def test_a_moved_shift_is_reminded_of_again(shift):
    from rallies.volunteers.shifts import ShiftInput, update_shift

    volunteer(shift)
    assert queue_volunteer_reminders(shift.starts_at - timedelta(hours=23)) == 1
    later = local_naive(shift.starts_at, shift.rally.timezone).replace(second=0, microsecond=0) + timedelta(hours=5)
    update_shift(shift, ShiftInput(shift.door_id, later, later + timedelta(hours=2), shift.slots, shift.role))
    assert queue_volunteer_reminders(shift.starts_at - timedelta(hours=23)) == 1
    assert len(_reminders("day")) == 2


def test_the_automatic_loop_queues_them(shift, runner):
    volunteer(shift)
    counts = queue_automatic(shift.starts_at - timedelta(hours=23))
    assert counts["volunteer_reminders"] == 1
    assert queue_automatic(shift.starts_at - timedelta(hours=23))["volunteer_reminders"] == 0


def test_an_organizer_messages_every_volunteer_once(shift, client, login):
    rally = shift.rally
    other = make_shift(rally)
    volunteer(shift, email="a@example.org")
    volunteer(other, email="b@example.org")
    gone = volunteer(other, email="gone@example.org")
    from rallies.models import VolunteerSignup

    cancel_signup(db.session.get(VolunteerSignup, gone.signup_id))
    login(client, _owner(rally))
    page = client.get(f"/organize/rallies/{rally.id}/shifts/").text
    key = re.search(r'name="key" type="hidden" value="([0-9a-f]{32})"', page).group(1)
    data = {"subject": "Parking", "body": "Use the <north> lot.", "key": key}
    assert client.post(f"/organize/rallies/{rally.id}/shifts/message", data=data).status_code == 303
    assert client.post(f"/organize/rallies/{rally.id}/shifts/message", data=data).status_code == 303  # a double submit
    rows = [r for r in outbox("volunteer") if r.render_params.get("template") == "volunteer_message"]
    assert sorted(r.to_addr for r in rows) == ["a@example.org", "b@example.org"]
    mail = run_renderer(rows[0])
    assert mail.subject == "Parking" and "Use the &lt;north&gt; lot." in mail.html and "<north>" not in mail.html
    assert client.post(f"/organize/rallies/{rally.id}/shifts/message",
                       data={"subject": "", "body": "x", "key": key}).status_code == 422


def test_a_viewer_cannot_message_volunteers(shift, client, login):
    volunteer(shift)
    login(client, make_user(campaign=shift.rally.campaign, role="viewer"))
    resp = client.post(f"/organize/rallies/{shift.rally_id}/shifts/message",
                       data={"subject": "Hi", "body": "Hello", "key": "a" * 32})
    assert resp.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.subject == "Hi")) == 0


def _owner(rally):
    from rallies.models import Membership, User

    return db.session.scalar(sa.select(User).join(Membership, Membership.user_id == User.id)
                             .where(Membership.campaign_id == rally.campaign_id, Membership.role == "owner"))
