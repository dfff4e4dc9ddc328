"""STOP and START: whether a number may be texted, changed at once for every supporter with it."""

from __future__ import annotations

from ..database import atomic
from ..models import OutboxMessage, Supporter, utcnow
from ..models.mail import CHANNEL_SMS, OUTBOX_FAILED, OUTBOX_PENDING

#: last_error of a text cancelled by a STOP.
STOPPED = "stopped: the recipient replied STOP"

_supporter, _outbox = Supporter.__table__, OutboxMessage.__table__


def stop(phone: str) -> int:
    """No more texts to this number from now on, including those queued; returns supporters stopped.

    A text being sent at this moment is caught by the sender's own check (sms/delivery.py).
    """
    if not phone:
        return 0
    with atomic() as session:
        stopped = session.execute(_supporter.update().where(_supporter.c.phone == phone,
                                                            _supporter.c.sms_stopped_at.is_(None))
                                  .values(sms_stopped_at=utcnow())).rowcount
        session.execute(_outbox.update().where(_outbox.c.channel == CHANNEL_SMS, _outbox.c.to_addr == phone,
                                               _outbox.c.status == OUTBOX_PENDING)
                        .values(status=OUTBOX_FAILED, last_error=STOPPED))
    return stopped


def start(phone: str) -> int:
    """Texts again for this number's supporters who had agreed to them; returns how many."""
    if not phone:
        return 0
    with atomic() as session:
        return session.execute(_supporter.update().where(_supporter.c.phone == phone,
                                                         _supporter.c.sms_opt_in_at.is_not(None),
                                                         _supporter.c.sms_stopped_at.is_not(None))
                               .values(sms_stopped_at=None)).rowcount
