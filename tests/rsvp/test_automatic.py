"""The automatic loop: day-of reminders, thank-yous and missed-yous, each at most once per supporter."""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa

from rallies.database import atomic
from rallies.dates import local_time
from rallies.extensions import db
from rallies.mail import delivery
from rallies.mail.outbox import run_renderer
from rallies.models import OutboxMessage, Rally, Rsvp, Supporter, utcnow
from rallies.rsvp.automatic import queue_automatic
from rallies.rsvp.tickets import ticket_code
from rallies.sms.consent import SmsConsent
from rallies.sms.optout import stop
from tests.factories import make_campaign, make_rsvp
from tests.stored import fresh, outbox

NOW = utcnow().replace(microsecond=0)


def _message(row):
    return email.message_from_bytes(delivery.render_body(row), policy=policy.default)


def _text(row) -> str:
    return _message(row).get_body(("plain",)).get_content()


def _people(rally, *names, postal_code="60607"):
    """RSVPs through the service (rally in the future), by name: {name: rsvp id}."""
    return {n: make_rsvp(rally, name=n, email=f"{n}@example.org", postal_code=postal_code).rsvp_id for n in names}


def _set(model, ident, **values):
    with atomic():
        row = db.session.get(model, ident)
        for name, value in values.items():
            setattr(row, name, value)


def _opt_out(rsvp_id):
    _set(Supporter, db.session.get(Rsvp, rsvp_id).supporter_id, email_opt_out_at=NOW)


def _held(rally, *, ended_ago=timedelta(hours=1)):
    """Move the rally into the past: it ended ``ended_ago`` before NOW."""
    ends = NOW - ended_ago
    _set(Rally, rally.id, starts_at=ends - timedelta(hours=2), ends_at=ends, doors_open_at=ends - timedelta(hours=3))


# --- day of ---------------------------------------------------------------------------------------


def test_day_of_reminder_goes_once_in_its_window(app, campaign, make_rally):
    doors = NOW + timedelta(hours=10)
    rally = make_rally(campaign, starts_at=doors + timedelta(hours=1), doors_open_at=doors, capacity=1, max_guests=0)
    ids = _people(rally, "ana", "wait")
    assert fresh(Rsvp, ids["wait"]).status == "waitlisted"
    assert queue_automatic(doors - timedelta(hours=3, minutes=1))["day_of"] == 0  # too early
    assert queue_automatic(doors - timedelta(hours=2))["day_of"] == 1
    assert queue_automatic(doors - timedelta(hours=1))["day_of"] == 0  # already sent
    (row,) = outbox("dayof")
    assert row.to_addr == "ana@example.org"  # the waitlisted hold no place: no day-of ticket
    message = _message(row)
    text = message.get_body(("plain",)).get_content()
    assert f"Doors open {local_time(doors, 'America/Chicago')}" in text  # in the rally's zone, zone named
    assert "America/Chicago" not in text
    code = ticket_code(fresh(Rally, rally.id), ids["ana"])
    assert code in text
    assert any(p.get_content_type() == "image/png" and p["Content-ID"] for p in message.walk())
    assert 'src="cid:ticket-qr"' in message.get_body(("html",)).get_content()


def test_day_of_reminder_queued_then_cancelled_is_dropped(app, campaign, make_rally):
    doors = NOW + timedelta(hours=10)
    rally = make_rally(campaign, starts_at=doors + timedelta(hours=1), doors_open_at=doors)
    ids = _people(rally, "ana", "bea")
    assert queue_automatic(doors - timedelta(hours=1))["day_of"] == 2
    _set(Rsvp, ids["ana"], status="cancelled")
    ana, bea = sorted(outbox("dayof"), key=lambda r: r.to_addr)
    assert "Doors open" in _text(bea)
    with pytest.raises(delivery.NothingToSend):
        delivery.render_body(ana)
    _set(Rally, rally.id, status="cancelled")
    with pytest.raises(delivery.NothingToSend):
        delivery.render_body(fresh(OutboxMessage, bea.id))


def test_day_of_text_goes_once_to_going_supporters_who_agreed_in_their_language(app, campaign, make_rally):
    doors = NOW + timedelta(hours=10)
    rally = make_rally(campaign, starts_at=doors + timedelta(hours=1), doors_open_at=doors, capacity=3, max_guests=0)
    consent = SmsConsent("I agree", "198.51.100.7")
    phones = {n: f"+1415555267{i}" for i, n in enumerate(("ana", "eva", "sam", "wes"))}
    for name in phones:  # wes, the fourth, is waitlisted
        make_rsvp(rally, name=name, phone=phones[name], sms_consent=consent, locale="es" if name == "eva" else "en")
    stop(phones["sam"])
    # Three day-of emails (the waitlisted get none); a second pass (or a second worker) queues nothing more.
    assert [queue_automatic(doors - timedelta(hours=2))["day_of"] for _ in range(2)] == [3, 0]
    db.session.rollback()
    rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "sms_dayof")
                              .order_by(OutboxMessage.to_addr)).all()
    assert [r.to_addr for r in rows] == [phones["ana"], phones["eva"]]
    tz = fresh(Rally, rally.id).timezone
    english, spanish = (run_renderer(r).text for r in rows)
    assert english.startswith(f"{rally.title} is today. Doors open {local_time(doors, tz, 'time', 'en')}. "
                              "Your ticket: http")
    assert spanish.startswith(f"{rally.title} es hoy. Apertura de puertas: {local_time(doors, tz, 'time', 'es')}. "
                              "Tu entrada: http")


def test_day_of_reminder_not_after_doors_open(app, campaign, make_rally):
    doors = NOW + timedelta(hours=10)
    rally = make_rally(campaign, starts_at=doors + timedelta(hours=1), doors_open_at=doors)
    _people(rally, "late")
    assert queue_automatic(doors + timedelta(minutes=1))["day_of"] == 0
    assert outbox("dayof") == []


def test_day_of_window_follows_the_start_without_doors_and_the_setting(app_factory):
    app = app_factory(DAYOF_REMINDER_HOURS=5)
    with app.app_context():
        from tests.factories import make_rally

        start = NOW + timedelta(hours=10)
        rally = make_rally(make_campaign(), starts_at=start, doors_open_at=None)
        _people(rally, "ana")
        assert queue_automatic(start - timedelta(hours=5, minutes=1))["day_of"] == 0
        assert queue_automatic(start - timedelta(hours=4, minutes=59))["day_of"] == 1


# --- after the rally --------------------------------------------------------------------------------


@pytest.fixture
def after(campaign, make_rally):
    """An ended rally in Chicago: came (checked in), noshow, optout_came, optout_noshow, and cancelled."""
    rally = make_rally(campaign, title="Union Park rally")
    ids = _people(rally, "came", "noshow", "optout_came", "optout_noshow", "cancelled")
    for name in ("came", "optout_came"):
        _set(Rsvp, ids[name], checked_in_people=1)
    _set(Rsvp, ids["cancelled"], status="cancelled")
    for name in ("optout_came", "optout_noshow"):
        _opt_out(ids[name])
    _held(rally)
    near = make_rally(campaign, title="Logan Square rally", lat=41.92, lon=-87.70,
                      starts_at=NOW + timedelta(days=20))
    far = make_rally(campaign, title="Austin rally", city="Austin", state="TX", lat=30.27, lon=-97.74,
                     starts_at=NOW + timedelta(days=3))
    make_rally(make_campaign("Other"), title="Another campaign's rally", starts_at=NOW + timedelta(days=2))
    return rally, ids, near, far


def test_thank_you_to_checked_in_missed_you_to_no_shows(app, after):
    rally, ids, _near, _far = after
    counts = queue_automatic(NOW)
    assert (counts["thank_you"], counts["missed_you"]) == (1, 1)
    (thanks,) = outbox("thank_you")
    (missed,) = outbox("missed_you")
    assert thanks.to_addr == "came@example.org" and missed.to_addr == "noshow@example.org"
    assert "Thank you for coming to Union Park rally" in _text(thanks)
    text = _text(missed)
    assert "Logan Square rally" in text and "http://localhost/r/" in text  # near their ZIP, same campaign
    assert "Austin rally" not in text and "Another campaign" not in text
    again = queue_automatic(NOW + timedelta(minutes=5))
    assert (again["thank_you"], again["missed_you"]) == (0, 0)


def test_missed_you_falls_back_to_the_campaigns_next_rallies(app, campaign, make_rally):
    rally = make_rally(campaign)
    _people(rally, "nozip", postal_code="")
    _held(rally)
    make_rally(campaign, title="Austin rally", city="Austin", lat=30.27, lon=-97.74, starts_at=NOW + timedelta(days=3))
    make_rally(make_campaign("Other"), title="Another campaign's rally", starts_at=NOW + timedelta(days=2))
    queue_automatic(NOW)
    (missed,) = outbox("missed_you")
    assert "Austin rally" in _text(missed) and "Another campaign" not in _text(missed)


def test_switched_off_rallies_send_nothing_after(app, after):
    rally, _ids, _near, _far = after
    _set(Rally, rally.id, send_thank_you=False, send_missed_you=False)
    counts = queue_automatic(NOW)
    assert (counts["thank_you"], counts["missed_you"]) == (0, 0)
    _set(Rally, rally.id, send_missed_you=True)
    counts = queue_automatic(NOW)
    assert (counts["thank_you"], counts["missed_you"]) == (0, 1)


def test_nothing_after_the_window_or_for_cancelled_rallies(app, after, make_rally, campaign):
    rally, _ids, _near, _far = after
    assert queue_automatic(NOW + timedelta(hours=24))["thank_you"] == 0  # ended 25 hours before
    _set(Rally, rally.id, status="cancelled")
    assert queue_automatic(NOW)["thank_you"] == 0


def test_opting_out_after_queueing_drops_the_message(app, after):
    _rally, ids, _near, _far = after
    queue_automatic(NOW)
    _opt_out(ids["came"])
    (thanks,) = outbox("thank_you")
    with pytest.raises(delivery.NothingToSend):
        delivery.render_body(thanks)


# --- never twice, with two workers at once -----------------------------------------------------------


def test_two_workers_at_once_queue_each_message_once(app_factory):
    first, second = app_factory(), app_factory()
    with first.app_context():
        from tests.factories import make_rally

        campaign = make_campaign()
        doors = NOW + timedelta(hours=2)
        today = make_rally(campaign, starts_at=doors + timedelta(hours=1), doors_open_at=doors)
        _people(today, *(f"d{i}" for i in range(12)))
        ended = make_rally(campaign)
        ids = _people(ended, *(f"a{i}" for i in range(12)))
        for i in range(6):
            _set(Rsvp, ids[f"a{i}"], checked_in_people=1)
        _held(ended)
        db.session.remove()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker(app):
        try:
            with app.app_context():
                barrier.wait(10)
                results.append(queue_automatic(NOW))
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(a,)) for a in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(r["day_of"] for r in results) == 12
    assert sum(r["thank_you"] for r in results) == 6 and sum(r["missed_you"] for r in results) == 6
    assert sum(r["day_before"] for r in results) == 12
    with first.app_context():
        per_kind = db.session.execute(sa.select(OutboxMessage.kind, sa.func.count(), sa.func.count(
            sa.distinct(OutboxMessage.rsvp_id))).group_by(OutboxMessage.kind)).all()
        assert {k: (n, d) for k, n, d in per_kind if k != "confirmation"} == {
            "dayof": (12, 12), "reminder": (12, 12), "thank_you": (6, 6), "missed_you": (6, 6)}


# --- commands ----------------------------------------------------------------------------------------


def test_send_automatic_command_and_the_worker_pass(app, runner, campaign, make_rally):
    doors = utcnow() + timedelta(hours=2)
    rally = make_rally(campaign, starts_at=doors + timedelta(hours=1), doors_open_at=doors)
    _people(rally, "ana")
    result = runner.invoke(args=["send-automatic"])
    assert result.exit_code == 0 and "1 day-of" in result.output and "1 day-before" in result.output
    assert "0 day-of" in runner.invoke(args=["send-automatic"]).output
    other = make_rally(campaign, starts_at=doors + timedelta(hours=1), doors_open_at=doors)
    _people(other, "bea")
    worker = runner.invoke(args=["outbox-worker", "--once"])
    assert worker.exit_code == 0, worker.output
    assert [r.status for r in outbox("dayof", to="bea@example.org")] == ["sent"]


def test_two_worker_processes_at_once_queue_each_message_once(app, campaign, make_rally, tmp_path):
    doors = NOW + timedelta(hours=2)
    today = make_rally(campaign, starts_at=doors + timedelta(hours=1), doors_open_at=doors)
    _people(today, *(f"d{i}" for i in range(8)))
    ended = make_rally(campaign)
    ids = _people(ended, "came", "noshow")
    _set(Rsvp, ids["came"], checked_in_people=1)
    _held(ended)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    script = Path(__file__).with_name("automatic_worker.py")
    root = Path(__file__).parents[2]
    procs = [subprocess.Popen([sys.executable, str(script), uri, NOW.isoformat(), str(tmp_path), f"w{i}", "2"],
                              cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _out, err in outputs]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _err in outputs]
    assert sum(r["day_of"] for r in results) == 8 and sum(r["day_before"] for r in results) == 8
    assert sum(r["thank_you"] for r in results) == 1 and sum(r["missed_you"] for r in results) == 1
    assert len(outbox("dayof")) == 8 and len({r.rsvp_id for r in outbox("dayof")}) == 8
    assert [r.to_addr for r in outbox("thank_you")] == ["came@example.org"]
    assert [r.to_addr for r in outbox("missed_you")] == ["noshow@example.org"]
