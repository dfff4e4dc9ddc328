"""MAIL_DELIVERY="inline": send the outbox right after a request that queued mail.

One background thread per process drains the outbox whenever a request that queued
mail has finished (the response is already on its way), using its own app context.
"worker" leaves delivery to ``flask outbox-worker``; "manual" (tests) does nothing.
"""

from __future__ import annotations

import logging
import threading

from flask import current_app

from ..extensions import db
from ..rsvp.blueprint import bp

log = logging.getLogger(__name__)

_wake = threading.Event()
_lock = threading.Lock()
_thread: threading.Thread | None = None


def _run(app) -> None:
    from .delivery import deliver_pending

    while True:
        _wake.wait()
        _wake.clear()
        try:
            while deliver_pending(app) > 0:
                pass
        except Exception:  # a broken run must not kill the thread; rows stay pending
            log.exception("inline email delivery failed")


def kick(app) -> None:
    """Wake this process's sender thread (started on first use)."""
    global _thread
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, args=(app,), name="outbox-sender", daemon=True)
            _thread.start()
    _wake.set()


@bp.after_app_request
def _deliver_after_request(response):
    """If this request queued mail and delivery is inline, send it once the response is done."""
    # Costs nothing when nothing was queued: no session is created just to look (most requests have none
    # left, or never opened one), and other delivery modes never look at all.
    if current_app.config.get("MAIL_DELIVERY") != "inline" or not db.session.registry.has():
        return response
    if db.session.info.pop("outbox_queued", False):
        app = current_app._get_current_object()
        response.call_on_close(lambda: kick(app))
    return response
