"""The outbox and its sender against a real SMTP server (aiosmtpd on 127.0.0.1).

Proofs: SMTP down then up (every message arrives once), a crash before sending (nothing
lost), a crash after the server accepted (at most one repeat, same Message-ID), several
senders at once (each message once). Also the message itself: text + HTML, inline QR,
.ics attached, absolute links that work.
"""

from __future__ import annotations

import email
import socket
import threading
from datetime import timedelta
from email import policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from rallies.database import atomic
from rallies.extensions import db
from rallies.mail import delivery
from rallies.mail import outbox as outbox_module
from rallies.mail.outbox import Pacer
from rallies.models import OutboxMessage, utcnow
from tests.factories import campaign_of
from tests.stored import outbox, rsvp_by_email, statements_sent
from tests.web import rsvp_post, token_from


class Collector:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(msg)
        return "250 OK"

    def ids(self) -> list[str]:
        with self.lock:
            return [m["Message-ID"] for m in self.messages]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    def __init__(self, port):
        self.port, self.handler, self.controller = port, Collector(), None

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    server = SmtpServer(free_port())
    yield server
    server.stop()


@pytest.fixture
def smtp_app(app, smtp):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, SMTP_STARTTLS=False, SMTP_TIMEOUT=5)
    return app


class Crash(BaseException):
    """Stands in for a sender process dying (not an error the sender handles)."""


def _queue(n: int, prefix="m") -> list[str]:
    with atomic():
        rows = [delivery.queue_email("test", f"{prefix}{i}@example.org", f"Hello {i}", f"<p>Hi {i}</p>", f"Hi {i}")
                for i in range(n)]
        db.session.flush()
        return [r.message_id for r in rows]


def _statuses() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage.status).order_by(OutboxMessage.id)))


def _make_due_now():
    """Pretend the backoff has passed."""
    with atomic():
        db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.status == "pending")
                           .values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def test_smtp_down_then_up_every_message_arrives_once(smtp_app, smtp):
    ids = _queue(5)
    assert delivery.deliver_pending() == 0  # server down
    db.session.expire_all()
    rows = db.session.scalars(sa.select(OutboxMessage)).all()
    assert {r.status for r in rows} == {"pending"}
    assert any(r.attempts == 1 and r.last_error for r in rows)
    assert all(r.next_attempt_at > utcnow() for r in rows if r.attempts)  # backed off
    assert delivery.deliver_pending() == 0  # still backing off: nothing is tried
    smtp.start()
    _make_due_now()
    assert delivery.deliver_pending() == 5
    assert sorted(smtp.handler.ids()) == sorted(ids)
    assert _statuses() == ["sent"] * 5
    _make_due_now()
    assert delivery.deliver_pending() == 0
    assert len(smtp.handler.ids()) == 5


def test_rsvp_succeeds_while_smtp_is_down_and_mail_follows(client, smtp_app, smtp, make_user, make_rally):
    rally = make_rally(campaign_of(make_user()))
    resp = rsvp_post(client, rally, email="down@example.org")
    assert resp.status_code == 303
    [row] = outbox()
    assert row.body is None and row.render_as == "ticket"  # rendered by the sender, not the request
    assert delivery.deliver_pending() == 0
    [row] = outbox()
    stored = row.body
    assert stored is not None  # rendered once on the first attempt; retries send these bytes
    smtp.start()
    _make_due_now()
    sent = delivery.deliver_pending()
    assert sent == 1, outbox()[0].last_error
    assert [m["To"] for m in smtp.handler.messages] == ["down@example.org"]
    assert smtp.handler.messages[0]["Date"] == email.message_from_bytes(stored, policy=policy.default)["Date"]


def test_message_for_a_deleted_person_is_dropped(client, app, make_user, make_rally):
    rally = make_rally(campaign_of(make_user()))
    rsvp_post(client, rally, email="gone@example.org")
    with atomic():
        db.session.execute(sa.update(OutboxMessage).values(rsvp_id=None, render_params={"rsvp_id": 999999}))
    assert delivery.deliver_pending() == 0
    assert outbox() == []


def test_crash_before_sending_loses_nothing(smtp_app, smtp, monkeypatch):
    smtp.start()
    [mid] = _queue(1)
    real_send = delivery._Transport.send

    def crash(self, *args, **kwargs):
        raise Crash()

    monkeypatch.setattr(delivery._Transport, "send", crash)
    with pytest.raises(Crash):
        delivery.deliver_pending(sender="dies")
    assert _statuses() == ["sending"] and smtp.handler.ids() == []
    monkeypatch.setattr(delivery._Transport, "send", real_send)
    # While the claim is fresh, nobody else touches the row.
    assert delivery.deliver_pending(sender="other") == 0
    smtp_app.config["OUTBOX_CLAIM_TIMEOUT"] = 0  # the claim is now stale
    assert delivery.deliver_pending(sender="other") == 1
    assert smtp.handler.ids() == [mid] and _statuses() == ["sent"]


def test_crash_between_250_and_our_commit_repeats_at_most_once_with_same_message_id(smtp_app, smtp, monkeypatch):
    """The one window SMTP leaves: the server accepted, and the sender dies before its commit lands."""
    smtp.start()
    [mid] = _queue(1)
    real_mark = delivery.mark_sent

    def crash(*args):
        raise Crash()

    monkeypatch.setattr(delivery, "mark_sent", crash)
    with pytest.raises(Crash):
        delivery.deliver_pending(sender="dies")
    assert smtp.handler.ids() == [mid]  # the server has it; the row does not know
    monkeypatch.setattr(delivery, "mark_sent", real_mark)
    smtp_app.config["OUTBOX_CLAIM_TIMEOUT"] = 0
    assert delivery.deliver_pending(sender="other") == 1
    assert delivery.deliver_pending(sender="third") == 0
    assert smtp.handler.ids() == [mid, mid]  # one repeat, same Message-ID (clients fold it)
    assert _statuses() == ["sent"]


def test_crash_right_after_the_server_accepted_is_not_sent_again(smtp_app, smtp, monkeypatch):
    """Issue 9 item 20: the row is marked sent the moment the server says 250, before anything else.

    The sender dies just after sendmail returns (the server has the message); a takeover after the
    claim timeout finds the row already sent and sends nothing.
    """
    import smtplib

    smtp.start()
    [mid] = _queue(1)
    real_sendmail = smtplib.SMTP.sendmail

    def sendmail_then_die(self, *args, **kwargs):
        real_sendmail(self, *args, **kwargs)
        raise Crash()

    monkeypatch.setattr(smtplib.SMTP, "sendmail", sendmail_then_die)
    with pytest.raises(Crash):
        delivery.deliver_pending(sender="dies")
    monkeypatch.setattr(smtplib.SMTP, "sendmail", real_sendmail)
    assert smtp.handler.ids() == [mid]
    smtp_app.config["OUTBOX_CLAIM_TIMEOUT"] = 0  # any claim is now stale
    assert delivery.deliver_pending(sender="other") == 0
    assert smtp.handler.ids() == [mid] and _statuses() == ["sent"]


def test_crash_during_data_before_acceptance_is_retried(smtp_app, smtp, monkeypatch):
    """The counterpart: a sender that dies before the server accepted leaves the row to be sent again."""
    import smtplib

    smtp.start()
    [mid] = _queue(1)
    real_data = smtplib.SMTP.data

    def die_before_data(self, msg):
        raise Crash()

    monkeypatch.setattr(smtplib.SMTP, "data", die_before_data)
    with pytest.raises(Crash):
        delivery.deliver_pending(sender="dies")
    monkeypatch.setattr(smtplib.SMTP, "data", real_data)
    assert smtp.handler.ids() == [] and _statuses() == ["sending"]
    assert delivery.deliver_pending(sender="other") == 0  # the claim is still fresh
    smtp_app.config["OUTBOX_CLAIM_TIMEOUT"] = 0
    assert delivery.deliver_pending(sender="other") == 1
    assert smtp.handler.ids() == [mid] and _statuses() == ["sent"]


def test_sender_that_lost_its_claim_before_data_does_not_send(smtp_app, smtp, monkeypatch):
    """A slow sender whose claim went stale and was taken over checks its claim before DATA and backs off."""
    import smtplib

    smtp.start()
    [mid] = _queue(1)
    real_mail = smtplib.SMTP.mail

    def taken_over_meanwhile(self, *args, **kwargs):
        with atomic():  # another sender took the stale claim while this one was connecting
            db.session.execute(sa.update(OutboxMessage).values(claimed_by="thief", claimed_at=utcnow()))
        return real_mail(self, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "mail", taken_over_meanwhile)
    assert delivery.deliver_pending(sender="slow") == 0
    assert smtp.handler.ids() == []
    db.session.expire_all()
    row = db.session.scalars(sa.select(OutboxMessage)).one()
    assert (row.status, row.claimed_by) == ("sending", "thief")
    monkeypatch.setattr(smtplib.SMTP, "mail", real_mail)
    smtp_app.config["OUTBOX_CLAIM_TIMEOUT"] = 0
    assert delivery.deliver_pending(sender="next") == 1 and smtp.handler.ids() == [mid]


def test_claim_timeout_is_short():
    """A dead sender's message waits minutes, not ten of them (the claim is refreshed before DATA)."""
    from config import Config

    assert Config.OUTBOX_CLAIM_TIMEOUT <= 120


def test_concurrent_senders_send_each_message_once(smtp_app, smtp):
    smtp.start()
    ids = _queue(30)
    db.session.commit()
    app = smtp_app
    barrier = threading.Barrier(4)
    results = []

    def run(name):
        barrier.wait()
        results.append(delivery.deliver_pending(app, sender=name))

    threads = [threading.Thread(target=run, args=(f"s{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 30
    assert sorted(smtp.handler.ids()) == sorted(ids)


def _fake_pacers(monkeypatch, smtp) -> tuple[list, list]:
    """The sender's Pacer on a clock that moves only when it sleeps; returns (rates made, [(sleep, received)])."""
    now, rates, slept = [0.0], [], []

    def sleep(seconds):
        slept.append((seconds, len(smtp.handler.ids())))
        now[0] += seconds

    def make(rate):
        rates.append(rate)
        return Pacer(rate, clock=lambda: now[0], sleep=sleep)

    monkeypatch.setattr(outbox_module, "Pacer", make)
    return rates, slept


def test_mail_rate_spaces_every_message(smtp_app, smtp, monkeypatch):
    """At MAIL_RATE_PER_SECOND=4 each message after the first waits 1/4 s for its slot, and every one arrives once."""
    smtp.start()
    smtp_app.config["MAIL_RATE_PER_SECOND"] = 4
    rates, slept = _fake_pacers(monkeypatch, smtp)
    ids = _queue(9)
    assert delivery.deliver_pending() == 9
    assert rates == [4]
    # The k-th wait comes after k messages went: never more than 4 in any one second of the clock.
    assert slept == [(0.25, k) for k in range(1, 9)]
    assert sorted(smtp.handler.ids()) == sorted(ids)


def test_mail_is_unpaced_by_default(smtp_app, smtp, monkeypatch):
    smtp.start()
    rates, slept = _fake_pacers(monkeypatch, smtp)
    _queue(3)
    assert delivery.deliver_pending() == 3
    assert rates == [0] and slept == []


def test_gives_up_after_max_attempts(smtp_app):
    smtp_app.config.update(OUTBOX_MAX_ATTEMPTS=2)
    _queue(1)
    delivery.deliver_pending()
    _make_due_now()
    delivery.deliver_pending()
    assert _statuses() == ["failed"]


def test_backoff_grows_exponentially_and_is_capped():
    assert [delivery.backoff_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert delivery.backoff_delay(30).total_seconds() == 3600


def test_message_key_makes_queueing_idempotent(app):
    with atomic():
        a = delivery.queue_email("reminder", "x@example.org", "S", "<p>h</p>", "t", message_key="reminder:1")
    with atomic():
        b = delivery.queue_email("reminder", "x@example.org", "S", "<p>h</p>", "t", message_key="reminder:1")
    assert a.id == b.id and len(outbox()) == 1


def test_development_writes_eml_files(app):
    app.config["SMTP_HOST"] = ""
    [mid] = _queue(1)
    assert delivery.deliver_pending() == 1
    from pathlib import Path

    files = list((Path(app.instance_path) / "outbox").glob("*.eml"))
    assert len(files) == 1 and mid.encode() in files[0].read_bytes()


def test_confirmation_email_is_complete_and_links_work(client, smtp_app, smtp, make_user, make_rally):
    from rallies.rsvp import tickets
    from tests.rsvp.test_tickets_page import decode_png

    smtp.start()
    rally = make_rally(campaign_of(make_user()), title="Fair Wages <Now> & Then")
    token = token_from(rsvp_post(client, rally, email="full@example.org", name="Ana <b>Bold</b>", guests=1))
    assert delivery.deliver_pending() == 1
    [msg] = smtp.handler.messages
    assert msg["Subject"] == "You're going: Fair Wages <Now> & Then"
    assert msg["From"] and msg["Message-ID"] and msg["Date"]
    alternative = next(p for p in msg.walk() if p.get_content_type() == "multipart/alternative")
    kinds = [p.get_content_type() for p in alternative.iter_parts()]
    assert kinds[0] == "text/plain" and "multipart/related" in kinds
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Ana &lt;b&gt;Bold&lt;/b&gt;" in html and "<b>Bold" not in html  # escaped
    assert "Fair Wages &lt;Now&gt; &amp; Then" in html
    assert "Ana <b>Bold</b>" in text
    png = next(p for p in msg.walk() if p.get_content_type() == "image/png")
    cid = png["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html
    rsvp = rsvp_by_email(rally, "full@example.org")
    assert decode_png(png.get_content()) == tickets.ticket_code(rsvp.rally, rsvp.id)
    ics = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
    assert ics.get_filename() == "rally.ics" and "BEGIN:VEVENT" in ics.get_content()
    import re

    links = set(re.findall(r'href="([^"]+)"', html)) | set(re.findall(r"https?://\S+", text))
    assert links and all(link.startswith("http://localhost/") for link in links)
    assert f"http://localhost/t/{token}" in links
    for link in links:
        path = link.replace("http://localhost", "").replace("&amp;", "&")
        assert client.get(path).status_code == 200, link


def test_outbox_worker_command_delivers_once(smtp_app, smtp, runner):
    smtp.start()
    ids = _queue(3)
    db.session.commit()
    result = runner.invoke(args=["outbox-worker", "--once"])
    assert result.exit_code == 0 and "Sent 3 message(s)." in result.output
    again = runner.invoke(args=["outbox-worker", "--once"])
    assert again.exit_code == 0 and "Sent" not in again.output
    assert sorted(smtp.handler.ids()) == sorted(ids)



def test_a_batch_is_claimed_and_loaded_once_then_two_writes_per_message(client, smtp_app, smtp, make_user,
                                                                        make_rally):
    """Issue 10: one claim and one read for the whole batch; per message only the heartbeat (which stores the
    rendered bytes) and the "sent" mark. Each ticket's QR image is drawn and stored once."""
    smtp.start()
    rally = make_rally(campaign_of(make_user()))
    for i in range(5):
        rsvp_post(client, rally, email=f"batch{i}@example.org")
    sent = []
    statements = statements_sent(lambda: sent.append(delivery.deliver_pending()), skip=("begin", "select 1"))
    assert sent == [5] and len(smtp.handler.messages) == 5
    reads = [s for s in statements if s.startswith("select")]
    # The claim is an UPDATE led by its pick (a CTE, "with picked as ... update outbox_message").
    writes = [s for s in statements if s.startswith(("update outbox_message", "with picked as"))]
    images = [s for s in statements if s.startswith("insert into ticket_image")]
    assert len(reads) == 1, statements  # the batch's RSVPs, rallies and stored images
    # The claim, heartbeat and "sent" per message, and the next claim, which finds nothing left.
    assert len(writes) == 1 + 2 * 5 + 1, statements
    assert len(images) == 5 and len(statements) == len(reads) + len(writes) + len(images), statements
    bodies = [row.body for row in outbox("confirmation")]
    assert all(bodies) and {row.status for row in outbox("confirmation")} == {"sent"}


def test_rendered_bytes_are_stored_before_data_so_a_repeat_is_identical(client, smtp_app, smtp, make_user,
                                                                       make_rally, monkeypatch):
    """A sender that dies between the server's 250 and its "sent" mark: the retry sends the very same bytes."""
    smtp.start()
    rally = make_rally(campaign_of(make_user()))
    rsvp_post(client, rally, email="repeat@example.org")
    real_mark = delivery.mark_sent

    def crash(*args):
        raise Crash()

    monkeypatch.setattr(delivery, "mark_sent", crash)
    with pytest.raises(Crash):
        delivery.deliver_pending(sender="dies")
    [row] = outbox("confirmation")
    assert row.body is not None and row.status == "sending"
    monkeypatch.setattr(delivery, "mark_sent", real_mark)
    smtp_app.config["OUTBOX_CLAIM_TIMEOUT"] = 0
    assert delivery.deliver_pending(sender="other") == 1
    first, second = smtp.handler.messages
    assert first.as_bytes() == second.as_bytes() == email.message_from_bytes(row.body, policy=policy.default).as_bytes()


def test_server_down_mid_batch_leaves_the_rest_untried(smtp_app):
    """The first message's failure backs it off; the others of the batch go back unclaimed, no attempt counted."""
    _queue(4)
    assert delivery.deliver_pending() == 0
    db.session.expire_all()
    rows = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [r.attempts for r in rows] == [1, 0, 0, 0]
    assert {r.status for r in rows} == {"pending"} and {r.claimed_by for r in rows} == {""}
    assert rows[0].next_attempt_at > utcnow() and all(r.next_attempt_at <= utcnow() for r in rows[1:])


def test_parts_that_look_like_boundaries_or_need_folding_keep_the_message_whole(app):
    text = "--=_0123\r\n--=_0123--\r\n" + "word " * 40
    files = [delivery.Attachment("rally.ics", "text/calendar", b"--=_0123--\r\n"),
             delivery.Attachment("ticket-qr.png", "image/png", bytes(range(256)), "ticket-qr")]
    subject = "Ünïcode and a subject long enough to need folding past the seventy-eight column limit"
    with app.app_context():
        raw = delivery.build_message("a@example.org", subject, f"<p>{text}</p>", text, message_id="<m@x>",
                                     attachments=files)
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert str(msg["Subject"]) == subject
    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "multipart/related", "text/html", "image/png",
        "text/calendar"]
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == text.replace("\r\n", "\n")
    assert [p.get_content() for p in msg.iter_attachments()][-1].replace("\r\n", "\n") == "--=_0123--\n"
    assert all(len(line) <= 78 for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"))


def test_concurrent_claims_each_take_at_most_their_limit(app):
    """On PostgreSQL an ``IN (subquery ... SKIP LOCKED)`` claim could run its pick twice and take twice its limit."""
    from rallies.mail.outbox import claim_batch

    _queue(120)
    taken: dict[str, int] = {}
    start = threading.Barrier(3)

    def claim(name):
        with app.app_context():
            start.wait()
            try:
                now = utcnow()
                taken[name] = len(claim_batch(name, now, now - timedelta(seconds=120), 20))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=claim, args=(f"s{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(taken) == 3 and all(n <= 20 for n in taken.values()), taken
