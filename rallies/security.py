"""Security headers and the per-request CSP nonce for the few inline scripts (folium maps)."""

from __future__ import annotations

import secrets

from flask import Flask, abort, g, request

#: Sent with every response, static files included (rallies/static_files.py).
FIXED_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "geolocation=(self), camera=(self), microphone=()"),
)

#: The policy of JSON answers: nothing may load or frame them.
API_POLICY = "default-src 'none'; frame-ancestors 'none'"


def csp_nonce() -> str:
    """A fresh nonce per request, shared by every inline script on the page."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def register(app: Flask) -> None:
    """Attach the headers to every response and expose csp_nonce() to templates."""
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.before_request
    def _refuse_unreadable_input():
        # Only the JSON API (under /api/) reads JSON bodies. Elsewhere Flask-WTF would feed a JSON
        # body to the forms, and an array or nested value there crashes them: refuse it plainly.
        if request.is_json and request.method not in ("GET", "HEAD", "OPTIONS") and "/api/" not in request.path:
            abort(415, "Send this as a form post; only the JSON API accepts JSON.")
        # NUL is never valid text, and PostgreSQL refuses it in any query: say so instead of failing there.
        if _has_nul(request.args) or (request.method == "POST" and _has_nul(request.form)):
            abort(400, "Text cannot contain NUL characters.")

    hsts = _hsts_value(app.config)

    @app.after_request
    def _headers(response):
        headers = response.headers
        # Only over HTTPS: a browser ignores HSTS sent over http, and dev servers must stay reachable.
        if hsts and request.is_secure:
            headers.setdefault("Strict-Transport-Security", hsts)
        # A 304 sends no policy: the browser keeps the cached page's own, whose nonce matches its scripts.
        if "Content-Security-Policy" not in headers and response.status_code != 304:
            if response.mimetype == "application/json":
                # Data, never a document: the short policy for APIs. The door's answers cross a slow
                # phone network, where each header byte delays the verdict.
                headers["Content-Security-Policy"] = API_POLICY
            else:
                policy = _policy_template(app.config.get("MAP_TILES_URL", ""))
                nonce = g.get("csp_nonce")
                headers["Content-Security-Policy"] = policy.replace("{nonce}", f" 'nonce-{nonce}'" if nonce else "")
        for name, value in FIXED_HEADERS:
            if name not in headers:
                headers[name] = value
        return response


def _hsts_value(config) -> str:
    """The Strict-Transport-Security value from HSTS_* settings ("" when HSTS_SECONDS is 0)."""
    seconds = int(config.get("HSTS_SECONDS") or 0)
    if seconds <= 0:
        return ""
    value = f"max-age={seconds}"
    if config.get("HSTS_INCLUDE_SUBDOMAINS"):
        value += "; includeSubDomains"
    if config.get("HSTS_PRELOAD"):
        value += "; preload"
    return value


def _policy_template(tiles: str) -> str:
    """The CSP for a tile URL, with ``{nonce}`` where the request's nonce goes."""
    tile_origin = _origin(tiles)
    img_src = "'self' data: blob:" + (f" {tile_origin}" if tile_origin else "")
    return (
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
        f"img-src {img_src}; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
        "media-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; "
        "object-src 'none'"
    )


def _has_nul(values) -> bool:
    return any("\x00" in value for values_ in values.listvalues() for value in values_)


def _origin(url: str) -> str:
    """scheme://host of a tile URL template, for img-src."""
    if "://" not in url:
        return ""
    scheme, rest = url.split("://", 1)
    host = rest.split("/", 1)[0]
    if "{s}" in host:
        host = "*." + host.split("{s}.", 1)[-1]
    return f"{scheme}://{host}"
