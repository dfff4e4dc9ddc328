"""The SMS sender: claims the outbox's SMS rows and hands them to the provider at SMS_RATE_PER_SECOND.

The same claim mechanism as email (mail/outbox.py): one conditional UPDATE claims a batch; just
before each text goes, one UPDATE renews the claim *only if no supporter with that number has
replied STOP* (so STOP stops even rows already queued or claimed), storing the freshly rendered
text so retries send the same words; the instant the provider answers 201 the row is marked sent.
429 and 5xx back off and retry; other refusals (21211 invalid number, 21610 unsubscribed, which also
records the STOP) fail the row at once. At-least-once, like email: a sender that dies between the
201 and its mark sends that text again after the claim times out.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app

from ..database import standby_writer
from ..extensions import db
from ..mail.outbox import (
    NothingToSend,
    Pacer,
    claimed_update,
    drain,
    drop,
    mark_failed,
    mark_sent,
    release,
    run_renderer,
    sender_id,
)
from ..models import OutboxMessage, Supporter, utcnow
from ..models.mail import CHANNEL_SMS, OUTBOX_SENDING
from .optout import STOPPED, stop
from .providers import Provider, ProviderError, ProviderUnreachable, provider_for

log = logging.getLogger(__name__)

_outbox = OutboxMessage.__table__
_supporter = Supporter.__table__
#: True while a supporter who agreed to texts at the row's number has replied STOP (and not START since).
#: Supporters who never agreed keep the STOP mark START leaves them; it must not block the others.
_STOPPED_NUMBER = (sa.select(_supporter.c.id).where(_supporter.c.phone == _outbox.c.to_addr,
                                                    _supporter.c.sms_opt_in_at.is_not(None),
                                                    _supporter.c.sms_stopped_at.is_not(None)).exists())
#: The heartbeat, refused for a stopped number; built once.
_GO = claimed_update(claimed_at=sa.bindparam("now")).where(~_STOPPED_NUMBER)
_GO_WITH_BODY = claimed_update(claimed_at=sa.bindparam("now"), body=sa.bindparam("body")).where(~_STOPPED_NUMBER)


class _Stopped(Exception):  # noqa: N818  (a signal)
    """The number replied STOP after the row was queued."""


class _Lost(Exception):  # noqa: N818
    """Another sender took the row over."""


def _go(write, row_id: int, sender: str, body: bytes | None) -> None:
    """Renew the claim unless the number stopped; _Stopped or _Lost otherwise."""
    params = {"row_id": row_id, "sender": sender, "now": utcnow()}
    if body is not None:
        params["body"] = body
    if write(_GO if body is None else _GO_WITH_BODY, params) == 1:
        return
    held = db.session.scalar(sa.select(sa.func.count()).select_from(_outbox).where(
        _outbox.c.id == row_id, _outbox.c.claimed_by == sender, _outbox.c.status == OUTBOX_SENDING))
    db.session.rollback()
    raise _Stopped() if held else _Lost()


def _texts(rows, sender: str, config) -> dict[int, tuple[bytes, bool]]:
    """{row id: (text as UTF-8, rendered now)} for the rows that can go; the rest are dropped or backed off."""
    texts = {}
    for row in rows:
        if row.body is not None:
            texts[row.id] = (bytes(row.body), False)
            continue
        try:
            texts[row.id] = (run_renderer(row).text.encode("utf-8"), True)
        except NothingToSend as exc:
            log.info("SMS %s dropped: %s", row.id, exc)
            drop(row.id, sender)
        except Exception as exc:  # a bug in one text must not stop the others
            log.exception("SMS %s could not be rendered", row.id)
            mark_failed(row.id, sender, row.attempts, f"render: {type(exc).__name__}: {exc}", config)
    db.session.rollback()  # no read snapshot stays open while texts go out
    return texts


def _send_batch(rows, sender: str, provider: Provider, pacer: Pacer, config) -> tuple[int, bool]:
    """Send a claimed batch; returns (texts sent, whether the provider was unreachable)."""
    texts = _texts(rows, sender, config)
    todo = [row for row in rows if row.id in texts]
    sent = 0
    with standby_writer() as write:
        for i, row in enumerate(todo):
            body, fresh = texts[row.id]
            pacer.wait()  # before the STOP check, so a STOP that arrives while waiting still counts
            try:
                _go(write, row.id, sender, body if fresh else None)
            except _Stopped:
                mark_failed(row.id, sender, row.attempts, STOPPED, config, permanent=True)
                continue
            except _Lost:
                log.warning("SMS %s not sent by this sender: another sender took it over", row.id)
                continue
            try:
                provider.send(row.to_addr, body.decode("utf-8"), idempotency_key=f"{row.id:08d}-{row.kind}")
            except ProviderError as exc:
                log.warning("SMS %s attempt %s refused: %s", row.id, row.attempts, exc)
                if exc.unsubscribed:
                    stop(row.to_addr)
                mark_failed(row.id, sender, row.attempts, str(exc), config, permanent=not exc.retryable)
                continue
            except ProviderUnreachable as exc:
                log.warning("SMS %s attempt %s: provider unreachable (%s)", row.id, row.attempts, exc)
                mark_failed(row.id, sender, row.attempts, str(exc), config)
                release([r.id for r in todo[i + 1:]], sender)
                return sent, True
            mark_sent(write, row.id, sender)
            sent += 1
    return sent, False


def deliver_pending_sms(app=None, limit: int = 100, *, sender: str | None = None,
                        provider: Provider | None = None) -> int:
    """Send up to ``limit`` due texts, claimed a batch at a time; returns how many the provider accepted."""
    if app is not None:
        with app.app_context():
            try:
                return deliver_pending_sms(limit=limit, sender=sender, provider=provider)
            finally:
                db.session.remove()
    config = current_app.config
    sender = sender or sender_id()
    provider = provider or provider_for(config, current_app.instance_path)
    return drain(CHANNEL_SMS, float(config.get("SMS_RATE_PER_SECOND", 1)),
                 lambda rows, pacer: _send_batch(rows, sender, provider, pacer, config), limit, sender, config)
