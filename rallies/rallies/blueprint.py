"""Blueprints ``rallies`` (public pages and discovery, public.py) and ``organize`` (rally management, organize.py)."""

from __future__ import annotations

from flask import Blueprint
from flask_babel import get_locale

from ..dates import local_time, number
from .lifecycle import PRECISION_LABELS, description_html, is_flagged
from .texts import text_for

#: Public pages at the site's root: the list, a rally's page, near me, about (public.py).
bp = Blueprint("rallies", __name__)
#: Rally management for organizers (organize.py).
organize_bp = Blueprint("organize", __name__, url_prefix="/organize")


@bp.app_template_filter("local_time")
def _local_time(moment, tz_name: str, style: str = "full") -> str:
    """{{ rally.starts_at|local_time(rally.timezone, 'short') }}: the one way pages write a moment (rallies/dates.py)."""
    return local_time(moment, tz_name, style)


@bp.app_template_filter("number")
def _number(value, pattern: str = "#,##0.##") -> str:
    """{{ item.miles|number('0.0') }}: a number in the reader's language (rallies/dates.py)."""
    return number(value, pattern)


@bp.app_template_filter("description_html")
def _description_html(text: str):
    """Plain-text description as safe HTML (escaped, line breaks, links)."""
    return description_html(text)


def _rally_text(rally, field: str = "title"):
    """{{ rally_text(rally) }} / {{ rally_text(rally, 'description') }}: in the page's language (rallies/texts.py);
    ``.lang_attr`` marks a fallback to the main text for screen readers."""
    return text_for(rally, field, str(get_locale() or ""))


@bp.app_context_processor
def _rally_helpers() -> dict:
    return {"geo_flagged": is_flagged, "precision_label": PRECISION_LABELS.get, "rally_text": _rally_text}
