"""The email outbox and its sender.

Writing: ``queue_email`` builds the whole RFC 5322 message once and adds an
``OutboxMessage`` row to the caller's transaction, so an RSVP and its email commit
(or roll back) together. Nothing is sent at that point.

Sending: ``deliver_pending`` *claims* a batch of due rows with one conditional UPDATE
(pending and due, or a claim older than OUTBOX_CLAIM_TIMEOUT seconds -> "sending",
claimed_by=this sender, claimed_at=now). Only the sender whose UPDATE matched a row sends
it, so several senders never send the same row.

Exactly when a message counts as sent (the README states the guarantee): a connection is
checked out before the SMTP exchange; just before DATA the claim is renewed on it (a heartbeat
that also checks no one took the row over meanwhile; if someone did, this sender stops before
DATA); the instant the server answers DATA with 250, one UPDATE marks the row "sent" and
commits, before smtplib returns or anything else runs. A sender that dies before that 250 leaves
a claim that another sender takes over after the timeout and sends again: at-least-once. A
repeat happens only if the sender dies in the instant between the server's 250 and that
commit (one round trip on PostgreSQL); it carries the same Message-ID, so downstream dedup
and mail clients fold it. Failures go back to "pending" with exponential backoff, and to
"failed" after OUTBOX_MAX_ATTEMPTS.

Deferred rendering: ``queue_rendered`` writes the row (recipient, subject, stable
Message-ID, a renderer name and small JSON params) in the caller's transaction, and the
sender builds the MIME message on its first attempt (templates, inline QR PNG, .ics) and
stores the bytes with the heartbeat just before DATA (or with the failure when the attempt
fails before that), so retries send the stored bytes. This keeps the RSVP
request cheap (rendering a QR PNG and a MIME tree is most of its cost) while the email
is still committed with the RSVP. Renderers are registered with ``@renderer(name)`` by the
modules that define them (rsvp/notices.py, which the app factory imports).

Without SMTP_HOST (development) messages are written to ``instance/outbox/*.eml``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import smtplib
import uuid
from collections.abc import Callable, Iterable
from email import encoders
from email.charset import QP, Charset
from email.generator import BytesGenerator
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from functools import partial
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from ..database import insert, standby_writer
from ..extensions import db
from ..models import OutboxMessage, utcnow
from ..models.mail import CHANNEL_EMAIL, OUTBOX_PENDING
from .outbox import (
    ClaimLost,
    NothingToSend,
    Pacer,
    Rendered,
    backoff_delay,
    drain,
    drop,
    mark_failed,
    mark_sent,
    refresh_claim,
    release,
    renderer,
    run_renderer,
    sender_id,
)

#: Renderers, their result and the outbox helpers moved to outbox.py; modules that queue email keep importing them here.
__all__ = ["Attachment", "NothingToSend", "Rendered", "backoff_delay", "build_message", "deliver_pending", "mark_sent",
           "message_id_for", "outbox_counts", "queue_email", "queue_rendered", "render_body", "renderer", "sender_id"]

log = logging.getLogger(__name__)

class Attachment(NamedTuple):
    """A file to attach; with ``cid`` set it is an inline part the HTML refers to as ``cid:<cid>``."""

    filename: str
    mimetype: str
    data: bytes
    cid: str | None = None


def _domain_of(mail_from: str, base_url: str) -> str:
    addr = parseaddr(mail_from)[1]
    if "@" in addr:
        return addr.rsplit("@", 1)[1]
    return urlsplit(base_url).hostname or "localhost"


def _domain() -> str:
    return _domain_of(current_app.config.get("MAIL_FROM", ""), current_app.config.get("BASE_URL", ""))


def message_domain() -> str:
    """The domain our Message-IDs end in (MAIL_FROM's, else BASE_URL's host)."""
    return _domain()


def message_id_for(key: str) -> str:
    """A stable Message-ID for an idempotency key (same key, same id)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{_domain()}>"


#: Text parts are UTF-8 in quoted-printable: readable in the raw message, and safe for any line length.
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


class _WirePolicy(Compat32):
    """compat32 that writes a header needing no folding as it is.

    compat32's folding (email.header.Header) gives back a one-line ASCII header that fits in
    max_line_length unchanged, after splitting and re-joining it: most of writing a message's
    two dozen headers. Anything else (non-ASCII, long or multi-line values) is folded as before.
    """

    def fold_binary(self, name, value):
        """The header line, folded only when it has to be."""
        if (isinstance(value, str) and value.isascii() and "\n" not in value and "\r" not in value
                and len(name) + 2 + len(value) <= self.max_line_length):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


#: The email.mime (compat32) model keeps each header as the string it was given; EmailMessage's default
#: policy parses every header of every part into objects and folds them again when writing, which was
#: two thirds of building a ticket email. CRLF line ends (RFC 5322): smtplib sends the bytes as they are,
#: and servers refuse bare-LF "lines".
_WIRE = _WirePolicy(linesep="\r\n")


def _boundary() -> str:
    """A multipart boundary that no part can contain: every leaf is quoted-printable or base64, and
    neither ever writes "=_" (the generator would otherwise search each part's text for its own)."""
    return "=_" + uuid.uuid4().hex


def _part(a: Attachment) -> MIMEBase:
    # A mimetype may carry parameters: "text/calendar; method=REQUEST" (RFC 6047).
    mimetype, *params = (p.strip() for p in a.mimetype.split(";"))
    maintype, subtype = mimetype.split("/", 1)
    if maintype == "text":
        part = MIMEText(a.data.decode("utf-8"), subtype, _UTF8_QP)
        for name, _eq, value in (p.partition("=") for p in params):
            part.set_param(name, value)
    else:
        part = MIMEBase(maintype, subtype)
        part.set_payload(a.data)
        encoders.encode_base64(part)
    if a.cid:
        part["Content-ID"] = f"<{a.cid}>"
    part.add_header("Content-Disposition", "inline" if a.cid else "attachment", filename=a.filename)
    return part


def build_message(to_addr: str, subject: str, html: str, text: str, *, message_id: str,
                  attachments: Iterable[Attachment | tuple] = (), language: str | None = None,
                  headers: dict | None = None) -> bytes:
    """The wire bytes of a message: text and HTML alternatives, inline images related to the HTML,
    other files attached (multipart/mixed); ``headers`` are added as given (never over the ones set here)."""
    files = [Attachment(*a) for a in attachments]
    html_part = MIMEText(html, "html", _UTF8_QP)
    inline = [_part(a) for a in files if a.cid]
    if inline:
        related = MIMEMultipart("related", boundary=_boundary())
        for part in (html_part, *inline):
            related.attach(part)
        html_part = related
    body = MIMEMultipart("alternative", boundary=_boundary())
    body.attach(MIMEText(text, "plain", _UTF8_QP))
    body.attach(html_part)
    attached = [_part(a) for a in files if not a.cid]
    if attached:
        msg = MIMEMultipart("mixed", boundary=_boundary())
        for part in (body, *attached):
            msg.attach(part)
    else:
        msg = body
    msg["From"] = formataddr(parseaddr(current_app.config["MAIL_FROM"]))
    msg["To"] = to_addr
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    if language:
        msg["Content-Language"] = language
    for name, value in (headers or {}).items():
        if value and name not in msg:
            msg[name] = value
    out = io.BytesIO()
    BytesGenerator(out, policy=_WIRE).flatten(msg)
    return out.getvalue()


def new_message_id(kind: str) -> str:
    """A fresh Message-ID for a message of this kind."""
    return make_msgid(idstring=kind, domain=_domain())


def queue_email(kind: str, to_addr: str, subject: str, html: str, text: str, *, rsvp_id: int | None = None,
                attachments: Iterable[Attachment | tuple] = (), message_key: str | None = None) -> OutboxMessage:
    """Add a message to the outbox in the current transaction (the caller commits).

    ``attachments`` are ``Attachment`` or ``(filename, mimetype, data[, cid])`` tuples.
    With ``message_key`` the Message-ID is derived from it, and queueing the same key
    twice returns the existing row instead of a second message.
    """
    if message_key:
        message_id = message_id_for(message_key)
        existing = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.message_id == message_id))
        if existing is not None:
            return existing
    else:
        message_id = new_message_id(kind)
    subject = " ".join(subject.split())[:200]
    body = build_message(to_addr, subject, html, text, message_id=message_id, attachments=attachments)
    row = OutboxMessage(
        kind=kind[:30], message_id=message_id, to_addr=to_addr, subject=subject, body=body,
        rsvp_id=rsvp_id, status=OUTBOX_PENDING, attempts=0, next_attempt_at=utcnow(),
    )
    db.session.add(row)
    return row


def queue_rendered(kind: str, to_addr: str, subject: str, render_as: str, params: dict, *,
                   rsvp_id: int | None = None, message_key: str | None = None, channel: str = CHANNEL_EMAIL) -> str:
    """Add a message the sender will render (``render_as`` renderer, JSON ``params``) to the current
    transaction; returns its Message-ID (the existing one when ``message_key`` was queued before).
    For ``channel="sms"`` ``to_addr`` is an E.164 number and the SMS sender sends it."""
    if message_key:
        message_id = message_id_for(message_key)
        existing = db.session.scalar(sa.select(OutboxMessage.message_id).where(OutboxMessage.message_id == message_id))
        if existing is not None:
            return existing
    else:
        message_id = new_message_id(kind)
    now = utcnow()
    # A Core INSERT: this runs inside every RSVP request, where the ORM unit of work would cost more.
    stmt = OutboxMessage.__table__.insert()
    if message_key:  # two workers queueing one key at the same moment: the second inserts nothing
        stmt = insert(OutboxMessage.__table__).on_conflict_do_nothing(index_elements=["message_id"])
    db.session.execute(stmt, dict(
        kind=kind[:30], message_id=message_id, to_addr=to_addr, subject=" ".join(subject.split())[:200], body=None,
        render_as=render_as, render_params=params, rsvp_id=rsvp_id, channel=channel, status=OUTBOX_PENDING, attempts=0,
        next_attempt_at=now, claimed_at=None, claimed_by="", sent_at=None, last_error="", created_at=now,
    ))
    return message_id


def render_body(row: OutboxMessage) -> bytes:
    """The message bytes: stored ones, or built now by the row's renderer (not stored here)."""
    if row.body is not None:
        return row.body
    out = run_renderer(row)
    return build_message(row.to_addr, out.subject or row.subject, out.html, out.text, message_id=row.message_id,
                         attachments=out.attachments, language=out.language, headers=out.headers)


# ---------------------------------------------------------------------------------------------- sending


class _Envelope(NamedTuple):
    """What the transport needs of a row, read before the SMTP exchange."""

    id: int
    kind: str
    to_addr: str
    body: bytes


class _SMTP(smtplib.SMTP):
    """smtplib.SMTP whose DATA command runs the sender's hooks: just before DATA, and the instant the
    server answers 250, before smtplib or anything else of ours runs (see deliver_pending)."""

    before_data: Callable[[], None] | None = None
    on_accepted: Callable[[], None] | None = None

    def data(self, msg):
        """DATA, framed by the hooks."""
        if self.before_data is not None:
            self.before_data()
        code, resp = super().data(msg)
        if code == 250 and self.on_accepted is not None:
            self.on_accepted()
        return code, resp


class _Transport:
    """One SMTP connection per delivery run (or a folder of .eml files without SMTP_HOST)."""

    def __init__(self, config):
        self.config = config
        self.smtp: _SMTP | None = None
        self.folder = None if config.get("SMTP_HOST") else Path(current_app.instance_path) / "outbox"

    def send(self, row: _Envelope, before_data: Callable[[], None], on_accepted: Callable[[], None]) -> None:
        """Hand the row's bytes over; ``before_data`` runs just before DATA, ``on_accepted`` on the 250."""
        if self.folder is not None:
            before_data()
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"{row.id:08d}-{row.kind}.eml"
            path.write_bytes(row.body)
            on_accepted()
            log.info("Email %s (%s) written to %s", row.id, row.kind, path)
            return
        if self.smtp is None:
            self.smtp = self._connect()
        sender = parseaddr(self.config["MAIL_FROM"])[1]
        self.smtp.before_data, self.smtp.on_accepted = before_data, on_accepted
        try:
            self.smtp.sendmail(sender, [row.to_addr], row.body)
        finally:
            self.smtp.before_data = self.smtp.on_accepted = None

    def _connect(self) -> _SMTP:
        c = self.config
        smtp = _SMTP(c["SMTP_HOST"], int(c.get("SMTP_PORT", 587)), timeout=float(c.get("SMTP_TIMEOUT", 10)))
        smtp.ehlo()
        if c.get("SMTP_STARTTLS") and smtp.has_extn("starttls"):
            smtp.starttls()
            smtp.ehlo()
        if c.get("SMTP_USERNAME"):
            smtp.login(c["SMTP_USERNAME"], c.get("SMTP_PASSWORD", ""))
        return smtp

    def reset(self) -> None:
        """Drop the connection after an error; the next message reconnects."""
        if self.smtp is not None:
            try:
                self.smtp.close()
            except Exception as exc:  # noqa: BLE001 (already broken)
                log.debug("closing a broken SMTP connection: %s", exc)
        self.smtp = None

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except Exception:  # noqa: BLE001
                self.reset()
        self.smtp = None


def _load_subjects(rows) -> list:
    """The RSVPs (with their rallies, campaigns, supporters and stored QR images: the language and the
    content of each email) that the batch's renderers will read, in one query: session.get finds them in
    the identity map while the caller holds the returned list."""
    from ..models import Rally, Rsvp

    ids = {row.rsvp_id for row in rows if row.body is None and row.rsvp_id}
    if not ids:
        return []
    return db.session.scalars(sa.select(Rsvp).options(so.joinedload(Rsvp.rally).joinedload(Rally.campaign),
                                                      so.joinedload(Rsvp.supporter), so.joinedload(Rsvp.ticket_image))
                              .where(Rsvp.id.in_(ids))).all()


def _render_batch(rows, sender: str, config) -> dict[int, tuple[bytes, bool]]:
    """{row id: (message bytes, rendered now)} for the rows that can be sent; the rest are dropped or backed off."""
    bodies, dropped, broken = {}, [], []
    session = db.session()
    subjects = _load_subjects(rows)  # noqa: F841  (held: the identity map keeps objects only while referenced)
    # A renderer may store what it drew (a ticket's QR image) and commit; what the batch loaded stays usable.
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        for row in rows:
            if row.body is not None:
                bodies[row.id] = (bytes(row.body), False)
                continue
            try:
                bodies[row.id] = (render_body(row), True)
            except NothingToSend as exc:
                log.info("Email %s dropped: %s", row.id, exc)
                dropped.append(row.id)
            except Exception as exc:  # a template bug must not stop the other messages
                log.exception("Email %s could not be rendered", row.id)
                broken.append((row, f"render: {type(exc).__name__}: {exc}"))
    finally:
        session.expire_on_commit = expire
    # No session transaction stays open across the SMTP exchanges (on SQLite an open read snapshot
    # would hide the "sent" marks from this session afterwards).
    session.rollback()
    for row_id in dropped:
        drop(row_id, sender)
    for row, error in broken:
        mark_failed(row.id, sender, row.attempts, error, config)
    return bodies


def _send_batch(rows, sender: str, transport: _Transport, pacer: Pacer, config) -> tuple[int, bool]:
    """Send a claimed batch; returns (messages sent, whether the server was unreachable)."""
    bodies = _render_batch(rows, sender, config)
    todo = [row for row in rows if row.id in bodies]
    sent = 0
    if not todo:
        return sent, False
    with standby_writer() as write:
        for i, row in enumerate(todo):
            body, fresh = bodies[row.id]
            pacer.wait()  # before the heartbeat, so the claim renewed is the one DATA goes out under
            try:
                transport.send(_Envelope(row.id, row.kind, row.to_addr, body),
                               before_data=partial(refresh_claim, write, row.id, sender, body if fresh else None),
                               on_accepted=partial(mark_sent, write, row.id, sender))
            except ClaimLost as exc:
                log.warning("Email %s not sent by this sender: %s", row.id, exc)
                transport.reset()  # the SMTP transaction stopped after RCPT; start clean
                continue
            except (smtplib.SMTPException, OSError) as exc:
                unreachable = transport.smtp is None and transport.folder is None
                transport.reset()
                log.warning("Email %s attempt %s failed: %s", row.id, row.attempts, type(exc).__name__)
                mark_failed(row.id, sender, row.attempts, f"{type(exc).__name__}: {exc}", config,
                             body if fresh else None)
                if unreachable:  # server down: the rest wait for the next run, untried
                    release([r.id for r in todo[i + 1:]], sender)
                    return sent, True
                continue
            sent += 1
    return sent, False


def deliver_pending(app=None, limit: int = 100, *, sender: str | None = None) -> int:
    """Send up to ``limit`` due outbox messages, claimed a batch at a time, at most MAIL_RATE_PER_SECOND
    (0: unpaced); returns how many were sent."""
    if app is not None:
        with app.app_context():
            try:
                return deliver_pending(limit=limit, sender=sender)
            finally:
                db.session.remove()
    config = current_app.config
    sender = sender or sender_id()
    transport = _Transport(config)
    try:
        return drain(CHANNEL_EMAIL, float(config.get("MAIL_RATE_PER_SECOND", 0)),
                     lambda rows, pacer: _send_batch(rows, sender, transport, pacer, config), limit, sender, config)
    finally:
        transport.close()


def outbox_counts() -> dict[str, int]:
    """Rows per status (for the worker's log line and health checks)."""
    rows = db.session.execute(sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status))
    return {status: int(n) for status, n in rows}
