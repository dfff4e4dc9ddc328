"""Error pages for browsers and JSON errors for API routes: {"error": {"code", "message"}}."""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, make_response, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from .database import database_unavailable

log = logging.getLogger(__name__)

MESSAGES = {
    400: _l("The request could not be understood. Please check what you sent and try again."),
    403: _l("You do not have permission to do that."),
    404: _l("We could not find that page."),
    405: _l("That action is not allowed here."),
    413: _l("What you sent is too large."),
    429: _l("Too many requests. Please wait a moment and try again."),
    500: _l("Something went wrong on our side. It has been logged; please try again."),
    503: _l("The service is temporarily unavailable."),
}


class ApiError(Exception):
    """Raised by JSON views; rendered as {"error": {...}} with the given status."""

    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def wants_json() -> bool:
    """JSON routes live under /api/ or /door/.../api/, or ask for JSON."""
    path = request.path
    if path.startswith("/api/") or "/api/" in path:
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def json_error(status: int, code: str, message: str, **extra):
    """A JSON error response in the one shape every endpoint uses."""
    body = {"error": {"code": code, "message": str(message), **extra}}  # str(): messages may be lazy translations
    return jsonify(body), status


def register(app: Flask) -> None:
    """Install the handlers."""

    @app.errorhandler(ApiError)
    def _api_error(err: ApiError):
        return json_error(err.status, err.code, err.message, **err.extra)

    @app.errorhandler(CSRFError)
    def _csrf(err: CSRFError):
        message = gettext("Your form expired or was sent from elsewhere. Please reload the page and try again.")
        if wants_json():
            return json_error(400, "csrf_failed", message)
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        code = err.code or 500
        message = MESSAGES.get(code, err.description or "Error")
        headers = {}
        if code == 429:
            retry = _retry_after(err)
            if retry:
                headers["Retry-After"] = str(retry)
                message = gettext("Too many requests. Please try again in %(seconds)s seconds.", seconds=retry)
        if code == 405 and err.valid_methods:
            headers["Allow"] = ", ".join(err.valid_methods)
        if wants_json():
            resp, status = json_error(code, _slug(code), message)
            resp.headers.update(headers)
            return resp, status
        return render_template("errors/error.html", code=code, message=message), code, headers

    from .keys.sealing import SealError

    @app.errorhandler(SealError)
    def _sealed(err: SealError):
        # A stored secret the configured KEKs cannot open: a deployment problem, not the visitor's.
        # The endpoint, not the path: ticket paths carry their secret token.
        log.critical("Cannot open a sealed secret in %s (%s): check TICKET_KEK and TICKET_KEK_OLD", request.endpoint, err)
        return _http(ServiceUnavailable())

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        if isinstance(err, HTTPException):
            return _http(err)
        if database_unavailable(err):
            return database_down(err)
        # The URL rule, never the path: paths carry ticket tokens and door secrets.
        log.exception("Unhandled error on %s %s", request.method, _route())
        return _http(InternalServerError())


def _route() -> str:
    """The matched URL rule (e.g. ``/t/<token>``), safe to log; the endpoint-less path is only a 404."""
    return request.url_rule.rule if request.url_rule is not None else "(no route)"


def database_down(err: BaseException | None = None):
    """503 with Retry-After while the database cannot be reached: a friendly page, or JSON for API clients."""
    if err is not None:
        # The driver's first line only: the full error can carry the statement and its personal data.
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[:1]
        log.warning("Database unavailable on %s %s: %s %s", request.method, _route(),
                    type(getattr(err, "orig", None) or err).__name__, reason[0] if reason else "")
    retry = int(current_app.config.get("DB_DOWN_RETRY_AFTER", 30))
    message = gettext("The service is temporarily unavailable while we reconnect to our database.")
    if wants_json():
        resp, status = json_error(503, "database_unavailable", message)
    else:
        resp, status = render_template("errors/unavailable.html", message=message, retry_after=retry), 503
        resp = make_response(resp, status)
    resp.headers["Retry-After"] = str(retry)
    resp.headers["Cache-Control"] = "no-store"
    return resp, status


def _retry_after(err) -> int | None:
    """Seconds until the limit that was hit resets (Flask-Limiter knows)."""
    import time

    from .extensions import limiter

    current = getattr(limiter, "current_limit", None)
    if current is not None and getattr(current, "reset_at", None):
        return max(1, int(current.reset_at - time.time()))
    return 60 if getattr(err, "limit", None) else None


def _slug(code: int) -> str:
    return {
        400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
        409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid", 429: "rate_limited",
        500: "server_error", 503: "unavailable",
    }.get(code, "error")
