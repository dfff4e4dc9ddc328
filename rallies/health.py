"""GET /healthz for load balancers and uptime checks: each part's state, and 503 naming what is down."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from .extensions import db, limiter

bp = Blueprint("health", __name__, url_prefix="/healthz")
log = logging.getLogger(__name__)


@bp.get("")
def healthz():
    """{"status": "ok", "database": "ok", ...}, or 503 with "down" listing the parts that are down.

    Parts: the database; the shared rate-limit storage (Redis) when one is configured; the outbox,
    "down" if its table cannot be read (schema not migrated), "backlog" when due mail has waited
    too long (informative only: slow mail must not take web servers out of the load balancer).
    """
    parts = {"database": _database()}
    if current_app.config.get("RATELIMIT_ENABLED") and not current_app.config.get(
            "RATELIMIT_STORAGE_URI", "memory://").startswith("memory://"):
        parts["rate_limit_storage"] = _rate_limit_storage()
    if parts["database"] == "ok":
        parts["outbox"] = _outbox()
    down = [name for name, state in parts.items() if state == "down"]
    body = {"status": "down" if down else "ok", **parts}
    if not down:
        return jsonify(body)
    resp = jsonify(body | {"down": down})
    resp.headers["Retry-After"] = str(int(current_app.config.get("DB_DOWN_RETRY_AFTER", 30)))
    return resp, 503


def _database() -> str:
    try:
        db.session.execute(sa.text("SELECT 1"))
        return "ok"
    except Exception as error:  # noqa: BLE001  whatever the failure, the answer is "down"
        log.warning("healthz: database down: %s", type(error).__name__)
        db.session.rollback()
        return "down"


def _rate_limit_storage() -> str:
    try:
        return "ok" if limiter.storage.check() else "down"
    except Exception as error:  # noqa: BLE001
        log.warning("healthz: rate-limit storage down: %s", type(error).__name__)
        return "down"


def _outbox() -> str:
    from .models import OutboxMessage, utcnow
    from .models.mail import OUTBOX_PENDING

    limit = int(current_app.config.get("OUTBOX_BACKLOG_SECONDS", 900))
    if limit <= 0:
        return "ok"
    try:
        oldest = db.session.scalar(sa.select(sa.func.min(OutboxMessage.next_attempt_at))
                                   .where(OutboxMessage.status == OUTBOX_PENDING))
    except Exception as error:  # noqa: BLE001  e.g. the schema was never migrated: mail cannot queue
        log.warning("healthz: outbox unreadable: %s", type(error).__name__)
        db.session.rollback()
        return "down"
    return "backlog" if oldest is not None and oldest < utcnow() - timedelta(seconds=limit) else "ok"
