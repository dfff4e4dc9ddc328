"""Blueprints ``volunteers`` (the public volunteer pages, views.py) and ``shifts`` (organizers, organize.py)."""

from __future__ import annotations

from flask import Blueprint

from .shifts import has_upcoming_shifts

#: Public: a rally's volunteer page, and each volunteer's own shift page (views.py).
bp = Blueprint("volunteers", __name__, url_prefix="/volunteer")
#: Shifts and the roster for organizers, under the rally's organize pages (organize.py).
organize_bp = Blueprint("shifts", __name__, url_prefix="/organize/rallies/<int:rally_id>/shifts")


@bp.app_context_processor
def _volunteer_helpers() -> dict:
    return {"rally_has_shifts": lambda rally: has_upcoming_shifts(rally.id)}
