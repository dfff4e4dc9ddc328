"""Organizer accounts: sign-up, login, logout, password reset, campaign teams."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from .extensions import db, login_manager
from .models import User

bp = Blueprint("auth", __name__, url_prefix="/auth")

login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to continue."


@login_manager.user_loader
def load_user(user_key: str) -> User | None:
    """Sessions carry "id:version"; a password change bumps the version and ends old sessions."""
    try:
        user_id, version = (int(part) for part in user_key.split(":", 1))
    except ValueError:
        return None
    user = db.session.get(User, user_id)
    return user if user and user.session_version == version else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log an organizer in."""
    from .forms.auth import LoginForm
    from .services.accounts import authenticate

    if current_user.is_authenticated:
        return redirect(url_for("rallies.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append("That email and password do not match an account.")
        else:
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")) or url_for("rallies.dashboard"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """Log out (POST, so a link elsewhere cannot do it)."""
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("rallies.index"))


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths, never //host or scheme URLs."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None
