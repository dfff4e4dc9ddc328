"""Organizer rally management, and the public rally pages and discovery."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from .access import current_memberships

bp = Blueprint("rallies", __name__)


@bp.get("/")
def index():
    """Upcoming published rallies (placeholder until discovery lands)."""
    return render_template("rallies/index.html")


@bp.get("/organize/")
@login_required
def dashboard():
    """The organizer's home: their campaigns."""
    return render_template("rallies/dashboard.html", memberships=current_memberships())
