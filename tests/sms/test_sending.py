"""Texts through the real twilio client to a local stand-in: what goes, backoff, permanent refusals, no duplicates."""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa

from rallies.database import atomic
from rallies.extensions import db
from rallies.mail import outbox
from rallies.mail.outbox import Pacer
from rallies.models import OutboxMessage, Supporter, utcnow
from rallies.rsvp import notices
from rallies.sms.consent import SmsConsent
from rallies.sms.delivery import deliver_pending_sms
from rallies.sms.providers import FileProvider
from rallies.sms.segments import total_segments
from tests.factories import make_rsvp
from tests.sms.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER

PHONE = "+14155552671"


def opted_in(rally, phone=PHONE, **fields):
    """An RSVP whose supporter ticked the SMS box."""
    return make_rsvp(rally, phone=phone, sms_consent=SmsConsent("I agree", "198.51.100.7"), **fields)


def sms_rows():
    db.session.rollback()
    return db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "sms")
                              .order_by(OutboxMessage.id)).all()


def make_due(*rows):
    with atomic():
        db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in rows]))
                           .values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def test_the_ticket_text_goes_through_the_twilio_client_with_basic_auth(sms_app, twilio, rally):
    result = opted_in(rally)
    assert deliver_pending_sms() == 1
    [sent] = twilio.received
    assert sent.account == ACCOUNT_SID and sent.auth == (ACCOUNT_SID, AUTH_TOKEN)
    assert sent.form["To"] == PHONE and sent.form["From"] == FROM_NUMBER
    body = sent.form["Body"]
    assert body.startswith("You're going to Town hall, ") and f"/t/{result.token}" in body
    assert body.endswith("Reply STOP to opt out")
    [row] = sms_rows()
    assert row.status == "sent" and row.sent_at is not None and row.body.decode() == body
    assert deliver_pending_sms() == 0 and len(twilio.received) == 1


def test_email_and_text_are_separate_channels(sms_app, twilio, rally):
    from rallies.mail.delivery import deliver_pending

    opted_in(rally)
    assert deliver_pending() == 1  # the ticket email, written to instance/outbox; the text is not touched
    assert [r.status for r in sms_rows()] == ["pending"]
    assert deliver_pending_sms() == 1


def test_a_messaging_service_replaces_the_from_number(sms_app, twilio, rally):
    sms_app.config["TWILIO_MESSAGING_SERVICE_SID"] = "MG" + "1" * 32
    opted_in(rally)
    deliver_pending_sms()
    [sent] = twilio.received
    assert sent.form["MessagingServiceSid"] == "MG" + "1" * 32 and "From" not in sent.form


def test_429_backs_off_and_the_retry_sends(sms_app, twilio, rally):
    opted_in(rally)
    twilio.fail_next(429, 20429)
    assert deliver_pending_sms() == 0
    [row] = sms_rows()
    assert row.status == "pending" and row.attempts == 1 and row.next_attempt_at > utcnow()
    assert "429" in row.last_error
    assert deliver_pending_sms() == 0  # not due yet
    make_due(row)
    assert deliver_pending_sms() == 1
    assert [r.status for r in twilio.received] == [429, 201]
    assert twilio.received[0].form == twilio.received[1].form  # the same words, stored at the first attempt


def test_a_server_error_backs_off_too(sms_app, twilio, rally):
    opted_in(rally)
    twilio.fail_next(503, 20503)
    assert deliver_pending_sms() == 0
    assert sms_rows()[0].status == "pending"


def test_an_invalid_number_fails_at_once_and_is_never_retried(sms_app, twilio, rally):
    opted_in(rally)
    twilio.fail_next(400, 21211)
    assert deliver_pending_sms() == 0
    [row] = sms_rows()
    assert row.status == "failed" and "21211" in row.last_error
    make_due(row)
    assert deliver_pending_sms() == 0 and len(twilio.received) == 1


def test_21610_fails_and_records_the_stop(sms_app, twilio, rally):
    opted_in(rally)
    twilio.fail_next(400, 21610)
    assert deliver_pending_sms() == 0
    assert sms_rows()[0].status == "failed"
    db.session.rollback()
    assert db.session.scalar(sa.select(Supporter.sms_stopped_at)) is not None


def test_provider_unreachable_backs_off_and_leaves_the_rest_untried(sms_app, twilio, rally):
    for i in range(3):
        opted_in(rally, phone=f"+1415555267{i}")
    sms_app.config["TWILIO_API_BASE"] = "http://127.0.0.1:9"  # discard port: nothing listens
    assert deliver_pending_sms() == 0
    rows = sms_rows()
    assert [r.attempts for r in rows] == [1, 0, 0] and {r.status for r in rows} == {"pending"}


def test_two_senders_at_once_send_each_text_once(sms_app, twilio, rally):
    for i in range(12):
        opted_in(rally, phone=f"+1415555{2600 + i}")
    counts = []
    threads = [threading.Thread(target=lambda name=name: counts.append(deliver_pending_sms(sms_app, sender=name)))
               for name in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(counts) == 12
    per_key = twilio.per_key()
    assert len(per_key) == 12 and set(per_key.values()) == {1}
    assert {r.status for r in sms_rows()} == {"sent"}


def test_hostile_text_stays_plain_in_the_sms(sms_app, twilio, rally):
    with atomic():
        rally.title = "<script>alert(1)</script> & \"co\""
    opted_in(rally)
    deliver_pending_sms()
    body = twilio.received[0].form["Body"]
    assert "<script>alert(1)</script> & \"co\"" in body and "&lt;" not in body and "&amp;" not in body


def test_rally_changes_cancellations_and_reminders_text_only_those_who_opted_in(sms_app, twilio, rally):
    yes = opted_in(rally)
    make_rsvp(rally, phone="+14155550100")  # a phone, but no consent
    with atomic():
        notices.rally_changed(rally, {"venue_name": ("Union Park", "Grant Park")})
        notices.rally_cancelled(rally)
        notices.reminder_email(yes.rsvp)
        notices.rally_cancelled(rally)  # the same cancellation twice: one text
    kinds = [(r.kind, r.to_addr) for r in sms_rows()]
    assert kinds == [("sms_ticket", PHONE), ("sms_rally_changed", PHONE), ("sms_rally_cancelled", PHONE),
                     ("sms_reminder", PHONE)]
    assert deliver_pending_sms() == 4
    bodies = [r.form["Body"] for r in twilio.received]
    assert "has changed" in bodies[1] and "is cancelled" in bodies[2] and bodies[3].startswith("Tomorrow: Town hall")
    assert all(b.endswith("Reply STOP to opt out") for b in bodies)


def test_without_credentials_texts_are_files_in_the_instance_folder(app, rally, tmp_path):
    opted_in(rally)
    assert deliver_pending_sms() == 1
    [row] = sms_rows()
    path = tmp_path / "instance" / "sms" / f"{row.id:08d}-sms_ticket.txt"
    text = path.read_text()
    assert text.startswith(f"To: {PHONE}\n\n") and "Reply STOP to opt out" in text


def test_file_provider_names_the_file_by_key(tmp_path):
    FileProvider(tmp_path).send("+1", "hi", idempotency_key="00000007-sms_ticket")
    assert (tmp_path / "00000007-sms_ticket.txt").read_text() == "To: +1\n\nhi\n"


def test_the_pacer_keeps_the_rate():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    pacer = Pacer(4, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        pacer.wait()
    assert now[0] == 1.0 and slept == [0.25] * 4


def test_cost_is_recipients_times_segments():
    assert total_segments("a" * 161, 1000) == 2000
    assert total_segments("ó", 3) == 3
    assert total_segments("hello", 0) == 0


def test_refused_credentials_back_off_rather_than_fail(sms_app, twilio, rally):
    """A wrong auth token is the account's problem, not the message's: the stand-in answers 401 as Twilio does."""
    sms_app.config["TWILIO_AUTH_TOKEN"] = "wrong"
    opted_in(rally)
    assert deliver_pending_sms() == 0
    assert twilio.received[0].status == 401 and twilio.received[0].auth == (ACCOUNT_SID, "wrong")
    assert sms_rows()[0].status == "pending"


def test_a_stop_while_the_sender_waits_for_its_slot_still_stops_the_text(sms_app, twilio, rally, monkeypatch):
    """The STOP check is the last thing before the request: after the pacer's wait, in the claim's own UPDATE."""
    from rallies.sms import optout

    opted_in(rally)
    monkeypatch.setattr(outbox.Pacer, "wait", lambda self: optout.stop(PHONE))
    assert deliver_pending_sms() == 0
    assert twilio.received == []
    [row] = sms_rows()
    assert row.status == "failed" and row.last_error == optout.STOPPED


def test_slow_rates_claim_small_batches(sms_app, twilio, rally, monkeypatch):
    """At 0.1 texts/s a batch of 20 would outlast the claim timeout: the sender claims only what it can send."""

    for i in range(3):
        opted_in(rally, phone=f"+1415555267{i}")
    sms_app.config.update(SMS_RATE_PER_SECOND=0.1, OUTBOX_CLAIM_TIMEOUT=40)
    monkeypatch.setattr(outbox.Pacer, "wait", lambda self: None)
    claimed = []
    real = outbox.claim_batch
    monkeypatch.setattr(outbox, "claim_batch", lambda *a, **k: claimed.append(a[3]) or real(*a, **k))
    assert deliver_pending_sms() == 3
    assert claimed[0] == 1


def test_the_outbox_worker_sends_texts_beside_email(app, rally, tmp_path):
    opted_in(rally)
    result = app.test_cli_runner().invoke(args=["outbox-worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "Sent 1 message(s)." in result.output and "Sent 1 text(s)." in result.output
    assert len(list((tmp_path / "instance" / "sms").glob("*.txt"))) == 1


def test_the_ticket_text_is_gsm7_and_one_or_two_segments(sms_app, twilio, rally):
    from rallies.sms.segments import cost

    opted_in(rally)
    deliver_pending_sms()
    used = cost(twilio.received[0].form["Body"])
    assert used.encoding == "GSM-7" and used.segments <= 2
