"""The door JSON endpoints: check in, walk-ins, undo, search, counters, scan log, sync, offline upload.

Scanner pages call them under /door/<door_id>/api/ with the door-session cookie; third-party
devices call the same handlers under /api/v1/door/ with ``Authorization: Bearer <token>``.

CSRF: these views are exempt from Flask-WTF's form token, because a cached offline page
cannot hold a fresh one. Instead a request is authenticated either by a bearer header (which
a cross-site form can never send) or by the door cookie, which is SameSite=Strict, scoped to
the door's path, and accepted on POST only together with the ``X-Door-Request: 1`` header
(a custom header forces a CORS preflight, which this app never grants). Organizer login
cookies are not accepted here at all.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

from flask import Response, current_app, jsonify, request

from ..errors import ApiError
from ..extensions import csrf, limiter
from ..services import doors
from ..services.admissions import admit_walkin, reduce_admission, undo_checkin
from ..services.checkin import CheckinInputError, check_in
from ..services.scans import door_status, scan_log, search_tickets
from ..services.sync import sync_payload
from . import bp

COOKIE = "door_session"
MAX_UPLOAD = 2000
MAX_BODY = 4 * 1024 * 1024


def cookie_path(door_id: int) -> str:
    """The door cookie is sent only to this door's pages and endpoints."""
    return f"/door/{door_id}/"


def _door_limit() -> str:
    return current_app.config.get("RATELIMIT_DOOR", "600 per minute")


def _device_key() -> str:
    """Rate-limit key: the device's credential (a venue's phones often share one IP), else the client IP."""
    header = request.headers.get("Authorization", "")
    secret = header[7:].strip() if header[:7].lower() == "bearer " else request.cookies.get(COOKIE)
    if secret:
        return "door:" + doors.hash_secret(secret[:200])[:32]
    return "door-ip:" + (request.remote_addr or "-")


def _scans_in_request() -> int:
    """Rate-limit cost: one unit per scan, so an upload of 2,000 scans costs what 2,000 scans cost."""
    if request.method != "POST" or not request.path.endswith("/upload"):
        return 1
    if request.content_length and request.content_length > MAX_BODY:
        return 1  # refused as too large before any scan is read
    try:
        data = request.get_json(silent=True, force=True)
    except RecursionError:
        data = None
    items = data.get("scans") if isinstance(data, dict) else None
    return max(1, min(len(items), MAX_UPLOAD)) if isinstance(items, list) else 1


#: Per device and per scan: a runaway or stolen device cannot flood the check-in path (429 + Retry-After in JSON).
door_rate_limit = limiter.limit(_door_limit, key_func=_device_key, cost=_scans_in_request)


def door_context(door_id: int | None = None) -> doors.DoorContext:
    """Authenticate the request (bearer header, or door cookie plus X-Door-Request on writes)."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        secret = header[7:].strip()
    else:
        secret = request.cookies.get(COOKIE) if door_id is not None else None
        if secret and request.method not in ("GET", "HEAD") and request.headers.get("X-Door-Request") != "1":
            raise ApiError(403, "csrf_failed", "Door requests must carry the X-Door-Request: 1 header.")
    try:
        return doors.authenticate(secret, door_id)
    except doors.DoorAccessError as err:
        status = 403 if err.code == "wrong_door" else 401
        raise ApiError(status, err.code, err.message) from err


def json_body() -> dict:
    """The request's JSON object, or a 4xx ApiError saying what is wrong."""
    if request.content_length and request.content_length > MAX_BODY:
        raise ApiError(413, "too_large", "The request body is too large.")
    try:
        data = request.get_json(silent=True, force=True)
    except RecursionError:  # nested deeper than any real request
        data = None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "Send a JSON object (Content-Type: application/json).")
    if _has_nul(data):  # never valid text, and PostgreSQL refuses it in any query
        raise ApiError(400, "invalid_text", "Text cannot contain NUL characters.")
    return data


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def parse_time(value) -> datetime | None:
    """Client time: epoch milliseconds or an ISO 8601 string with an offset (None if absent)."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value / 1000, UTC)
        if isinstance(value, str) and len(value) <= 40:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise ValueError
            return moment.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise ApiError(422, "invalid_client_time", "client_time must be epoch milliseconds or ISO 8601 with a time zone.")


def _int(value, name: str, default=None):
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2**63:  # ids are at most BIGINT
        raise ApiError(422, f"invalid_{name}", f"{name} must be a whole number.")
    return value


def _input_error(err: CheckinInputError) -> ApiError:
    return ApiError(err.status, err.code, err.message)


# --- handlers shared with /api/v1 --------------------------------------------------------


def handle_checkin(ctx: doors.DoorContext):
    """Decide one scan (a scanned code, or a ticket_id picked from a name search)."""
    data = json_body()
    try:
        verdict = check_in(_code_of(data), ctx, ticket_id=data.get("ticket_id"), nonce=data.get("nonce"),
                           client_time=parse_time(data.get("client_time")), force=bool(data.get("force")),
                           people=_int(data.get("people"), "people"))
    except CheckinInputError as err:
        raise _input_error(err) from err
    return jsonify(verdict.to_dict())


def _code_of(data: dict) -> str | None:
    """The scanned code as text; None when a ticket was picked from a name search (ticket_id) instead."""
    code = data.get("code")
    if code is None and data.get("ticket_id") is not None:
        return None
    if not isinstance(code, str):
        code = "" if code is None else json.dumps(code)[:200]
    return code


def handle_walkin(ctx: doors.DoorContext):
    """Create and admit a walk-in party."""
    data = json_body()
    try:
        verdict = admit_walkin(ctx, name=str(data.get("name") or ""), email=str(data.get("email") or ""),
                               postal_code=str(data.get("postal_code") or ""), guests=_int(data.get("guests"), "guests", 0),
                               nonce=data.get("nonce"), client_time=parse_time(data.get("client_time")))
    except CheckinInputError as err:
        raise _input_error(err) from err
    return jsonify(verdict.to_dict())


def handle_undo(ctx: doors.DoorContext):
    """Supervisor: undo a ticket's latest check-in, with a reason."""
    data = json_body()
    ticket_id = _int(data.get("ticket_id"), "ticket_id")
    if ticket_id is None:
        raise ApiError(422, "invalid_ticket_id", "ticket_id is required.")
    try:
        verdict = undo_checkin(ctx, rsvp_id=ticket_id, reason=str(data.get("reason") or ""), nonce=data.get("nonce"),
                               people=_int(data.get("people"), "people"))
    except CheckinInputError as err:
        raise _input_error(err) from err
    return jsonify(verdict.to_dict())


def handle_reduce(ctx: doors.DoorContext):
    """Only part of a just-admitted party came in; the rest can be admitted later."""
    data = json_body()
    scan_id, keep = _int(data.get("scan_id"), "scan_id"), _int(data.get("keep"), "keep")
    if scan_id is None or keep is None:
        raise ApiError(422, "invalid_request", "scan_id and keep are required.")
    try:
        verdict = reduce_admission(ctx, scan_id=scan_id, keep=keep, nonce=data.get("nonce"))
    except CheckinInputError as err:
        raise _input_error(err) from err
    return jsonify(verdict.to_dict())


def handle_search(ctx: doors.DoorContext):
    """Tickets by name prefix (names only: never emails or phones)."""
    query = request.args.get("q", "")[:100]
    return jsonify({"query": query, "results": search_tickets(ctx.rally_id, query)})


def handle_status(ctx: doors.DoorContext):
    """Counters for this door and the rally, and who this device is."""
    body = door_status(ctx.rally_id, ctx.door_id, with_conflicts=ctx.is_supervisor)
    body["device"] = {"name": ctx.device_name, "role": ctx.role, "door": ctx.door_name}
    return jsonify(body)


def _arg_int(name: str, default: int) -> int:
    """A whole-number query parameter; ValueError beyond 64 bits too (scan ids and cursors are BIGINT)."""
    value = int(request.args.get(name) or default)
    if abs(value) >= 2**63:
        raise ValueError(name)
    return value


def handle_log(ctx: doors.DoorContext):
    """The scan log, newest first (this door only unless ?door=all for supervisors)."""
    try:
        before = _arg_int("before", 0) or None
        limit = _arg_int("limit", 50)
    except ValueError as err:
        raise ApiError(422, "invalid_paging", "before and limit must be whole numbers.") from err
    door_id = None if (request.args.get("door") == "all" and ctx.is_supervisor) else ctx.door_id
    hide_invalid = request.args.get("hide_invalid", "") in ("1", "true", "on")
    return jsonify({"scans": scan_log(ctx.rally_id, door_id, before, limit, hide_invalid=hide_invalid)})


def handle_sync(ctx: doors.DoorContext):
    """Incremental door data since a cursor, gzip-compressed when the client accepts it."""
    try:
        since = max(0, _arg_int("since", 0))
    except ValueError as err:
        raise ApiError(422, "invalid_cursor", "since must be a cursor returned by a previous sync.") from err
    payload = sync_payload(ctx.rally_id, ctx.door_id, since)
    payload["device"] = {"name": ctx.device_name, "role": ctx.role, "door": ctx.door_name}
    body = json.dumps(payload, separators=(",", ":")).encode()
    resp = Response(body, mimetype="application/json")
    if len(body) > 1024 and "gzip" in request.headers.get("Accept-Encoding", ""):
        resp.set_data(gzip.compress(body, 6))
        resp.headers["Content-Encoding"] = "gzip"
        resp.headers["Vary"] = "Accept-Encoding"
    resp.headers["Cache-Control"] = "no-store"
    return resp


def handle_upload(ctx: doors.DoorContext):
    """Offline scans and walk-ins, in device order; each accepted or flagged, never refused."""
    data = json_body()
    items = data.get("scans")
    if not isinstance(items, list):
        raise ApiError(422, "invalid_scans", "scans must be a list.")
    if len(items) > MAX_UPLOAD:
        raise ApiError(413, "too_many_scans", f"Upload at most {MAX_UPLOAD} scans per request.")
    results = []
    for item in items:
        results.append(_upload_one(ctx, item))
    return jsonify({"results": results})


def _upload_one(ctx, item) -> dict:
    nonce = item.get("nonce") if isinstance(item, dict) else None
    try:
        if not isinstance(item, dict):
            raise ApiError(422, "invalid_scan", "Each scan must be an object.")
        client_time = parse_time(item.get("client_time"))
        # The device may say how it decided (the scanner page marks its offline queue); unsaid, the service infers it.
        online = True if item.get("online") is True else False if item.get("offline") is True else None
        if item.get("kind") == "walkin":
            verdict = admit_walkin(ctx, name=str(item.get("name") or ""), email=str(item.get("email") or ""),
                                   postal_code=str(item.get("postal_code") or ""),
                                   guests=_int(item.get("guests"), "guests", 0), nonce=nonce,
                                   client_time=client_time, offline=True, online=online)
        else:
            device_verdict = item.get("device_verdict")
            verdict = check_in(_code_of(item), ctx, ticket_id=item.get("ticket_id"), nonce=nonce,
                               client_time=client_time, people=_int(item.get("people"), "people"), offline=True,
                               online=online,
                               device_verdict=device_verdict if isinstance(device_verdict, str) else "admit")
        return {"nonce": nonce, "ok": True, **verdict.to_dict()}
    except CheckinInputError as err:
        return {"nonce": nonce, "ok": False, "error": {"code": err.code, "message": err.message}}
    except ApiError as err:
        return {"nonce": nonce, "ok": False, "error": {"code": err.code, "message": err.message}}


def handle_whoami(ctx: doors.DoorContext):
    """The device's door, rally and role."""
    return jsonify({"device": ctx.device_name, "role": ctx.role, "door": {"id": ctx.door_id, "name": ctx.door_name},
                    "rally_id": ctx.rally_id})


HANDLERS = {
    "checkin": (handle_checkin, "POST"), "walkin": (handle_walkin, "POST"), "undo": (handle_undo, "POST"),
    "reduce": (handle_reduce, "POST"), "upload": (handle_upload, "POST"), "search": (handle_search, "GET"),
    "status": (handle_status, "GET"), "log": (handle_log, "GET"), "sync": (handle_sync, "GET"),
    "whoami": (handle_whoami, "GET"),
}


def _door_route(name, handler, method):
    def view(door_id: int):
        return handler(door_context(door_id))

    view.__name__ = f"api_{name}"
    view.__doc__ = handler.__doc__
    bp.add_url_rule(f"/<int:door_id>/api/{name}", endpoint=f"api_{name}", view_func=csrf.exempt(door_rate_limit(view)),
                    methods=[method])


for _name, (_handler, _method) in HANDLERS.items():
    _door_route(_name, _handler, _method)


def set_session_cookie(response, door_id: int, secret: str) -> None:
    """Store the door-session secret in a cookie only this door's paths receive."""
    response.set_cookie(COOKIE, secret, path=cookie_path(door_id), httponly=True, samesite="Strict",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", True), max_age=14 * 24 * 3600)
