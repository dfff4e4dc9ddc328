"""The outbox's channel-neutral mechanics, shared by the email and SMS senders.

A sender *claims* due rows of one channel with one conditional UPDATE, renews its claim just
before handing a message over (the heartbeat, which also stores a freshly rendered body), marks
the row sent the instant the provider accepts it, and otherwise backs it off, fails it or drops
it. Each helper re-checks that this sender still holds the claim, so two senders never both act
on a row. Renderers (``@renderer(name)``) build a deferred row's content for either channel.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa

from ..database import atomic
from ..models import OutboxMessage, utcnow
from ..models.mail import CHANNEL_EMAIL, OUTBOX_FAILED, OUTBOX_PENDING, OUTBOX_SENDING, OUTBOX_SENT

log = logging.getLogger(__name__)

_sender_ids: dict[int, str] = {}


def sender_id() -> str:
    """This process's name on outbox claims: host, pid and a random tag, made after any fork (gunicorn's
    preload_app imports this module once in the master; each worker must still claim under its own name)."""
    pid = os.getpid()
    if pid not in _sender_ids:
        _sender_ids[pid] = f"{socket.gethostname()[:40]}:{pid}:{uuid.uuid4().hex[:8]}"
    return _sender_ids[pid]


class Rendered(NamedTuple):
    """What a renderer returns for a deferred message (an SMS renderer leaves ``html`` empty)."""

    html: str
    text: str
    attachments: tuple = ()
    #: None keeps the subject stored when the message was queued.
    subject: str | None = None
    #: The message's language (a Content-Language header), when the renderer chose one.
    language: str | None = None
    #: Extra headers (Reply-To, List-Unsubscribe ...), added by build_message.
    headers: dict | None = None


class NothingToSend(Exception):
    """A renderer's subject is gone (e.g. the person was deleted): the row is dropped, not retried."""


_RENDERERS: dict[str, Callable[[dict], Rendered]] = {}


def renderer(name: str):
    """Register ``fn(params) -> Rendered`` as the renderer for deferred messages named ``name``."""
    def register(fn):
        _RENDERERS[name] = fn
        return fn
    return register


def run_renderer(row) -> Rendered:
    """What the row's renderer makes of its params now (NothingToSend when there is no such renderer)."""
    fn = _RENDERERS.get(row.render_as)
    if fn is None:
        raise NothingToSend(f"no renderer {row.render_as!r}")
    # Rows queued set-based share one params value; the recipient is the row's own RSVP.
    params = {"rsvp_id": row.rsvp_id} if row.rsvp_id else {}
    params.update(row.render_params or {})
    return fn(params)


def backoff_delay(attempts: int, base: float = 30.0, cap: float = 3600.0) -> timedelta:
    """Seconds to wait after the n-th failed attempt: base * 2^(n-1), capped."""
    return timedelta(seconds=min(cap, base * (2 ** max(0, attempts - 1))))


#: Rows one sender claims with one UPDATE. Each is still re-checked just before it is handed over (the
#: heartbeat), so a claim that went stale while earlier messages of the batch were sent is never sent twice.
CLAIM_BATCH = 20


def _due(t, now: datetime, stale_before: datetime, channel: str):
    return sa.and_(t.c.channel == channel,
                   sa.or_(sa.and_(t.c.status == OUTBOX_PENDING, t.c.next_attempt_at <= now),
                          sa.and_(t.c.status == OUTBOX_SENDING, t.c.claimed_at < stale_before)))


def claim_batch(sender: str, now: datetime, stale_before: datetime, limit: int, channel: str = CHANNEL_EMAIL) -> list:
    """Atomically take up to ``limit`` due rows of one channel for sending, oldest first; returns them (id order).

    One UPDATE whose WHERE re-checks that each row is still due, so a row goes to one sender only;
    on PostgreSQL SKIP LOCKED lets concurrent senders take different rows instead of queueing on the
    same ones (SQLite has no row locks: its writers are serialised anyway). The pick is a materialized
    CTE: as a plain ``IN (subquery)`` PostgreSQL may run it more than once under concurrency, each run
    skipping other rows, and one sender then claimed twice its ``limit`` (measured by bench/sms_outbox.py).
    """
    t = OutboxMessage.__table__
    due = _due(t, now, stale_before, channel)
    pick = (sa.select(t.c.id).where(due).order_by(t.c.next_attempt_at, t.c.id).limit(limit)
            .with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED", dialect="postgresql"))
    with atomic() as session:
        rows = session.execute(
            t.update().where(t.c.id.in_(sa.select(pick.c.id)), due)
            .values(status=OUTBOX_SENDING, claimed_by=sender, claimed_at=now, attempts=t.c.attempts + 1)
            .returning(t.c.id, t.c.kind, t.c.to_addr, t.c.subject, t.c.message_id, t.c.body, t.c.render_as,
                       t.c.render_params, t.c.rsvp_id, t.c.attempts)
        ).all()
    return sorted(rows, key=lambda row: row.id)


class Pacer:
    """At most ``rate`` sends per second (0: unpaced): each send waits for its slot. Providers queue, throttle
    or refuse faster senders (Twilio per number, SMTP relays per account)."""

    def __init__(self, rate: float, clock=time.monotonic, sleep=time.sleep):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock, self.sleep, self.next_at = clock, sleep, None

    def wait(self) -> None:
        """Sleep until this send's slot."""
        now = self.clock()
        if self.next_at is not None and self.next_at > now:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


def paced_batch(rate: float, timeout: timedelta) -> int:
    """Rows to claim at once at ``rate`` per second: a batch must go out well within the claim timeout,
    or another sender takes its last rows over."""
    return max(1, min(CLAIM_BATCH, int(rate * timeout.total_seconds() / 4))) if rate > 0 else CLAIM_BATCH


def drain(channel: str, rate: float, send_batch: Callable, limit: int, sender: str, config) -> int:
    """Claim this channel's due rows a batch at a time and hand each batch to ``send_batch(rows, pacer)``
    (which returns (sent, unreachable)) at most ``rate`` a second; returns how many were sent."""
    timeout = timedelta(seconds=float(config.get("OUTBOX_CLAIM_TIMEOUT", 120)))
    pacer = Pacer(rate)
    batch = paced_batch(rate, timeout)
    sent = 0
    while limit > 0:
        now = utcnow()
        rows = claim_batch(sender, now, now - timeout, min(batch, limit), channel=channel)
        if not rows:
            break
        limit -= len(rows)
        done, unreachable = send_batch(rows, pacer)
        sent += done
        if unreachable:  # the server or provider is down: the rest wait for the next run
            break
    return sent


class ClaimLost(Exception):
    """Our claim on a row went stale and another sender took it: this sender must not send it."""


def claimed_update(**values):
    """An UPDATE of one row this sender still holds a claim on (``:row_id``, ``:sender``)."""
    t = OutboxMessage.__table__
    return (t.update().where(t.c.id == sa.bindparam("row_id"), t.c.claimed_by == sa.bindparam("sender"),
                             t.c.status == OUTBOX_SENDING).values(**values))


#: Built once: each message sent runs two of them.
_HEARTBEAT = claimed_update(claimed_at=sa.bindparam("now"))
_HEARTBEAT_WITH_BODY = claimed_update(claimed_at=sa.bindparam("now"), body=sa.bindparam("body"))
_SENT = claimed_update(status=OUTBOX_SENT, sent_at=sa.bindparam("now"), last_error="")


def refresh_claim(write, row_id: int, sender: str, body: bytes | None = None) -> None:
    """Just before handing the message over: renew our claim (the heartbeat), or raise ClaimLost if another
    sender took it. A message rendered by this attempt is stored in the same statement, so every retry
    sends these bytes."""
    params = {"row_id": row_id, "sender": sender, "now": utcnow()}
    if body is not None:
        params["body"] = body
    if write(_HEARTBEAT if body is None else _HEARTBEAT_WITH_BODY, params) != 1:
        raise ClaimLost(f"outbox row {row_id}: claim taken over by another sender")


def mark_sent(write, row_id: int, sender: str) -> None:
    """The provider accepted the message: record it at once (the only window in which a crash repeats it)."""
    try:
        write(_SENT, {"row_id": row_id, "sender": sender, "now": utcnow()})
    except Exception:
        log.error("Outbox row %s was accepted by its provider but could not be recorded as sent; "
                  "it will be sent again when its claim expires", row_id)
        raise


def drop(row_id: int, sender: str) -> None:
    """Delete a claimed row that has nothing left to send."""
    t = OutboxMessage.__table__
    with atomic() as session:
        session.execute(t.delete().where(t.c.id == row_id, t.c.claimed_by == sender))


def mark_failed(row_id: int, sender: str, attempts: int, error: str, config, body: bytes | None = None, *,
                permanent: bool = False) -> None:
    """Back to pending after a backoff (failed after OUTBOX_MAX_ATTEMPTS, or at once when ``permanent``),
    keeping a body this attempt rendered."""
    t = OutboxMessage.__table__
    max_attempts = int(config.get("OUTBOX_MAX_ATTEMPTS", 12))
    delay = backoff_delay(attempts, float(config.get("OUTBOX_BACKOFF_BASE", 30)),
                          float(config.get("OUTBOX_BACKOFF_CAP", 3600)))
    status = OUTBOX_FAILED if permanent or attempts >= max_attempts else OUTBOX_PENDING
    values = {"body": body} if body is not None else {}
    with atomic() as session:
        session.execute(
            t.update().where(t.c.id == row_id, t.c.claimed_by == sender, t.c.status == OUTBOX_SENDING)
            .values(status=status, next_attempt_at=utcnow() + delay, claimed_at=None, claimed_by="",
                    last_error=error[:500], **values)
        )


def release(row_ids: list[int], sender: str) -> None:
    """Give back claimed rows this run did not try (the provider is down): due again, the attempt not counted."""
    if not row_ids:
        return
    t = OutboxMessage.__table__
    with atomic() as session:
        session.execute(
            t.update().where(t.c.id.in_(row_ids), t.c.claimed_by == sender, t.c.status == OUTBOX_SENDING)
            .values(status=OUTBOX_PENDING, claimed_at=None, claimed_by="", attempts=t.c.attempts - 1))
