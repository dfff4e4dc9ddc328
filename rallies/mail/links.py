"""Absolute URLs built from BASE_URL, for email and anything else outside a request."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values) -> str:
    """An absolute URL for an endpoint under BASE_URL (never reads the request)."""
    base = urlsplit(current_app.config.get("BASE_URL") or "http://localhost")
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path.rstrip("/") or "/",
                                       url_scheme=base.scheme or "https")
    return adapter.build(endpoint, values, force_external=True)


def base_domain() -> str:
    """The host part of BASE_URL (used in calendar UIDs)."""
    return urlsplit(current_app.config.get("BASE_URL") or "http://localhost").hostname or "localhost"
