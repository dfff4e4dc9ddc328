"""Blueprint ``rallies``: organizer rally management (organize.py) and public pages and discovery (public.py)."""

from __future__ import annotations

from flask import Blueprint

from .lifecycle import PRECISION_LABELS, description_html, is_flagged, local_time

bp = Blueprint("rallies", __name__)


@bp.app_template_filter("local_time")
def _local_time(moment, tz_name: str, fmt: str | None = None) -> str:
    """{{ rally.starts_at|local_time(rally.timezone) }}: local time with the zone named."""
    return local_time(moment, tz_name, fmt) if fmt else local_time(moment, tz_name)


@bp.app_template_filter("description_html")
def _description_html(text: str):
    """Plain-text description as safe HTML (escaped, line breaks, links)."""
    return description_html(text)


@bp.app_context_processor
def _rally_helpers() -> dict:
    return {"geo_flagged": is_flagged, "precision_label": PRECISION_LABELS.get}
