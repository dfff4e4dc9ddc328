"""GET /healthz for load balancers and uptime checks."""

from flask import Blueprint, jsonify
from sqlalchemy import text

from .extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """{"status": "ok", "database": "ok"}, or 503 naming what is down."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:
        db.session.rollback()
        database = "down"
    status = 200 if database == "ok" else 503
    return jsonify(status="ok" if status == 200 else "down", database=database), status
