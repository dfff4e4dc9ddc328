"""Scheduled sends: local times in the rally's zone across DST, and queueing once however many workers run."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest

from rallies.extensions import db
from rallies.messaging import compose, queueing
from rallies.messaging.compose import ScheduleError, local_to_utc
from rallies.models import CampaignMessage
from tests.messaging.people import add_person, draft
from tests.stored import fresh, outbox


def test_local_times_across_the_spring_forward_in_chicago():
    zone = "America/Chicago"
    assert local_to_utc(date(2027, 3, 14), time(1, 30), zone) == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)  # CST
    assert local_to_utc(date(2027, 3, 14), time(3, 30), zone) == datetime(2027, 3, 14, 8, 30, tzinfo=UTC)  # CDT
    with pytest.raises(ScheduleError, match="does not exist"):
        local_to_utc(date(2027, 3, 14), time(2, 30), zone)


def test_an_ambiguous_fall_back_time_is_the_first_one():
    # 01:30 happens twice on 2027-11-07 in Chicago: first in CDT (06:30 UTC), then in CST (07:30 UTC).
    assert local_to_utc(date(2027, 11, 7), time(1, 30), "America/Chicago") == datetime(2027, 11, 7, 6, 30, tzinfo=UTC)


def test_the_compose_form_schedules_in_the_rallys_zone_and_refuses_a_skipped_time(organizer_client, rally):
    url = f"/organize/rallies/{rally.id}/messages/new"
    data = {"segment": "going", "channel": "email", "subject": "Hi", "body": "Body", "when": "later",
            "send_date": "2027-03-14", "send_time": "02:30"}
    bad = organizer_client.post(url, data=data)
    assert bad.status_code == 422
    assert "does not exist on 2027-03-14 in America/Chicago" in bad.get_data(as_text=True)
    ok = organizer_client.post(url, data={**data, "send_time": "03:30"})
    assert ok.status_code == 303
    message = fresh(CampaignMessage, 1)
    assert (message.status, message.send_at) == ("scheduled", datetime(2027, 3, 14, 8, 30, tzinfo=UTC))
    assert outbox() == []
    past = organizer_client.post(url, data={**data, "send_date": "2020-01-01", "send_time": "10:00"})
    assert past.status_code == 422 and "That time has passed" in past.get_data(as_text=True)


def test_due_messages_are_queued_at_their_time_and_only_then(owner, rally):
    add_person(rally)
    send_at = datetime(2027, 3, 14, 8, 30, tzinfo=UTC)
    message = compose.create_message(rally, owner, draft(send_at=send_at))
    assert queueing.queue_due_messages(send_at - timedelta(seconds=1)) == 0
    assert outbox() == []
    assert queueing.queue_due_messages(send_at) == 1
    assert queueing.queue_due_messages(send_at + timedelta(hours=1)) == 0
    assert len(outbox()) == 1
    stored = fresh(CampaignMessage, message.id)
    assert (stored.status, stored.sent_by_email) == ("queued", owner.email)


def test_two_workers_racing_queue_each_message_once(app, owner, rally):
    for i in range(20):
        add_person(rally, f"P{i}")
    send_at = datetime(2027, 3, 14, 8, 30, tzinfo=UTC)
    for _ in range(3):
        compose.create_message(rally, owner, draft(send_at=send_at))
    db.session.remove()
    start, results, errors = threading.Barrier(2), [], []

    def worker():
        with app.app_context():
            try:
                start.wait()
                results.append(queueing.queue_due_messages(send_at))
            except Exception as exc:  # noqa: BLE001 (reported below)
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sum(results) == 3
    assert len(outbox()) == 60
    assert len({r.message_id for r in outbox()}) == 60


def test_send_scheduled_cli(runner, owner, rally):
    add_person(rally)
    compose.create_message(rally, owner, draft(send_at=datetime(2026, 1, 1, tzinfo=UTC)))
    result = runner.invoke(args=["send-scheduled"])
    assert result.exit_code == 0 and "Queued 1 scheduled message(s)." in result.output
    assert len(outbox()) == 1


def test_the_outbox_worker_queues_due_messages_and_sends_them_in_the_same_pass(runner, owner, rally):
    add_person(rally)
    compose.create_message(rally, owner, draft(send_at=datetime(2026, 1, 1, tzinfo=UTC)))
    result = runner.invoke(args=["outbox-worker", "--once"])
    assert result.exit_code == 0, result.output
    assert [(r.kind, r.status) for r in outbox()] == [("campaign_message", "sent")]
