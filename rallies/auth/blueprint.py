"""Blueprint ``auth`` (every URL starts with /auth/): account pages in views.py, team pages in campaigns.py.

Also how Flask-Login finds the user a session cookie names.
"""

from __future__ import annotations

from flask import Blueprint, current_app

from ..extensions import db, limiter, login_manager
from ..models import User

bp = Blueprint("auth", __name__, url_prefix="/auth")

login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to continue."
login_manager.login_message_category = "info"


def _auth_limit() -> str:
    return current_app.config["RATELIMIT_AUTH"]


#: Per client IP, on form submissions only (showing the form is free).
auth_rate_limit = limiter.limit(_auth_limit, methods=["POST"])


@login_manager.user_loader
def load_user(user_key: str) -> User | None:
    """Sessions and remember-me cookies carry "id:version"; logout, a password change or "end other
    sessions" bumps the version, so every older cookie of the user stops working."""
    try:
        user_id, version = (int(part) for part in user_key.split(":", 1))
    except ValueError:
        return None
    user = db.session.get(User, user_id)
    return user if user and user.session_version == version else None
