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
import logging
from datetime import timedelta
from functools import wraps

from flask import Response, current_app, jsonify, request
from flask_babel import gettext

from ..errors import ApiError
from ..extensions import csrf, limiter
from . import doors, schemas
from .admissions import admit_walkin, reduce_admission, undo_checkin
from .blueprint import api_v1, bp
from .checkin import check_in
from .exits import check_out
from .scan_input import CLOCK_SKEW
from .scans import door_status, inside_now, scan_log, search_tickets
from .sync import delta_ids, sync_payload
from .verdicts import CheckinInputError

COOKIE = "door_session"
MAX_BODY = 4 * 1024 * 1024
logger = logging.getLogger(__name__)


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
    return max(1, min(len(items), schemas.MAX_UPLOAD)) if isinstance(items, list) else 1


#: Per device and per scan: a runaway or stolen device cannot flood the check-in path (429 + Retry-After in JSON).
door_rate_limit = limiter.limit(_door_limit, key_func=_device_key, cost=_scans_in_request)


def door_context(door_id: int | None = None, grace: timedelta | None = None) -> doors.DoorContext:
    """Authenticate the request (bearer header, or door cookie plus X-Door-Request on writes)."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        secret = header[7:].strip()
    else:
        secret = request.cookies.get(COOKIE) if door_id is not None else None
        if secret and request.method not in ("GET", "HEAD") and request.headers.get("X-Door-Request") != "1":
            raise ApiError(403, "csrf_failed", "Door requests must carry the X-Door-Request: 1 header.")
    try:
        return doors.authenticate(secret, door_id, grace)
    except doors.DoorAccessError as err:
        status = 403 if err.code == "wrong_door" else 401
        raise ApiError(status, err.code, err.message) from err


def _body() -> dict:
    """The request's JSON object, or a 4xx ApiError saying what is wrong."""
    if request.content_length and request.content_length > MAX_BODY:
        raise ApiError(413, "too_large", "The request body is too large.")
    try:
        data = request.get_json(silent=True, force=True)
    except RecursionError:  # nested deeper than any real request
        data = None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "Send a JSON object (Content-Type: application/json).")
    return data


def _load(model, data):
    """The validated schema model, or a 4xx ApiError naming the field at fault."""
    try:
        return schemas.load(model, data)
    except schemas.SchemaError as err:
        raise ApiError(400 if err.code == "invalid_text" else 422, err.code, err.message) from err


def door_api(handler=None, *, grace: timedelta | None = None):
    """A door JSON endpoint: authenticated (bearer or door cookie), rate limited per device, CSRF-exempt.

    The same view serves /door/<door_id>/api/<name> (scanner pages) and /api/v1/door/<name>
    (devices with a bearer token), so both are registered on it. ``@door_api(grace=...)``: an
    expired link still works for that long (doors.authenticate).
    """
    if handler is None:
        return lambda handler: door_api(handler, grace=grace)

    @wraps(handler)
    def view(door_id: int | None = None):
        try:
            return handler(door_context(door_id, grace))
        except CheckinInputError as err:
            raise ApiError(err.status, err.code, err.message) from err

    return csrf.exempt(door_rate_limit(view))


@bp.post("/<int:door_id>/api/checkin", endpoint="api_checkin")
@api_v1.post("/door/checkin", endpoint="door_checkin")
@door_api
def checkin(ctx: doors.DoorContext):
    """Decide one scan (a scanned code, or a ticket_id picked from a name search)."""
    scan = _load(schemas.ScanIn, _body())
    if scan.direction == "exit":
        verdict = check_out(_code_of(scan), ctx, ticket_id=scan.ticket_id, nonce=scan.nonce,
                            client_time=scan.client_time, people=scan.people)
    else:
        verdict = check_in(_code_of(scan), ctx, ticket_id=scan.ticket_id, nonce=scan.nonce,
                           client_time=scan.client_time, force=scan.force, people=scan.people,
                           override_reason=scan.override_reason)
    return _with_inside(ctx, verdict.to_dict())


def _with_inside(ctx: doors.DoorContext, body: dict) -> Response:
    """A verdict's JSON with inside now (rally, overflow area and this door), read after it committed."""
    body["inside"] = inside_now(ctx.rally_id, ctx.door_id)
    return jsonify(body)


def _code_of(scan: schemas.ScanIn) -> str | None:
    """The scanned code; None when a ticket was picked from a name search (ticket_id) instead."""
    if scan.code is None:
        return None if scan.ticket_id is not None else ""
    return scan.code


@bp.post("/<int:door_id>/api/walkin", endpoint="api_walkin")
@api_v1.post("/door/walkin", endpoint="door_walkin")
@door_api
def walkin(ctx: doors.DoorContext):
    """Create and admit a walk-in party."""
    party = _load(schemas.WalkinIn, _body())
    verdict = admit_walkin(ctx, name=party.name, email=party.email, postal_code=party.postal_code,
                           guests=party.guests, nonce=party.nonce, client_time=party.client_time)
    return _with_inside(ctx, verdict.to_dict())


@bp.post("/<int:door_id>/api/undo", endpoint="api_undo")
@api_v1.post("/door/undo", endpoint="door_undo")
@door_api
def undo(ctx: doors.DoorContext):
    """Supervisor: undo a ticket's latest check-in, with a reason."""
    data = _load(schemas.UndoIn, _body())
    verdict = undo_checkin(ctx, rsvp_id=data.ticket_id, reason=data.reason, nonce=data.nonce, people=data.people)
    return _with_inside(ctx, verdict.to_dict())


@bp.post("/<int:door_id>/api/reduce", endpoint="api_reduce")
@api_v1.post("/door/reduce", endpoint="door_reduce")
@door_api
def reduce(ctx: doors.DoorContext):
    """Only part of a just-admitted party came in; the rest can be admitted later."""
    data = _load(schemas.ReduceIn, _body())
    verdict = reduce_admission(ctx, scan_id=data.scan_id, keep=data.keep, nonce=data.nonce)
    return jsonify(verdict.to_dict())


@bp.get("/<int:door_id>/api/search", endpoint="api_search")
@api_v1.get("/door/search", endpoint="door_search")
@door_api
def search(ctx: doors.DoorContext):
    """Tickets by name prefix (names only: never emails or phones)."""
    query = _load(schemas.SearchQuery, request.args.to_dict()).q[:100]
    return jsonify({"query": query, "results": search_tickets(ctx.rally_id, query)})


@bp.get("/<int:door_id>/api/status", endpoint="api_status")
@api_v1.get("/door/status", endpoint="door_status")
@door_api
def status(ctx: doors.DoorContext):
    """Counters for this door and the rally, and who this device is."""
    body = door_status(ctx.rally_id, ctx.door_id, with_conflicts=ctx.is_supervisor)
    body["device"] = {"name": ctx.device_name, "role": ctx.role, "door": ctx.door_name}
    return jsonify(body)


@bp.get("/<int:door_id>/api/log", endpoint="api_log")
@api_v1.get("/door/log", endpoint="door_log")
@door_api
def log(ctx: doors.DoorContext):
    """The scan log, newest first (this door only unless ?door=all for supervisors)."""
    args = _load(schemas.LogQuery, request.args.to_dict())
    door_id = None if (args.door == "all" and ctx.is_supervisor) else ctx.door_id
    hide_invalid = args.hide_invalid in ("1", "true", "on")
    return jsonify({"scans": scan_log(ctx.rally_id, door_id, args.before or None, args.limit, hide_invalid=hide_invalid)})


@bp.get("/<int:door_id>/api/sync", endpoint="api_sync")
@api_v1.get("/door/sync", endpoint="door_sync")
@door_api
def sync(ctx: doors.DoorContext):
    """Incremental door data since a cursor, gzip-compressed when the client accepts it."""
    args = _load(schemas.SyncQuery, request.args.to_dict())
    payload = sync_payload(ctx.rally_id, ctx.door_id, max(0, args.since))
    if args.ids == "delta":
        payload = delta_ids(payload)
    payload["inside"] = inside_now(ctx.rally_id, ctx.door_id)
    payload["device"] = {"name": ctx.device_name, "role": ctx.role, "door": ctx.door_name}
    body = json.dumps(payload, separators=(",", ":")).encode()
    resp = Response(body, mimetype="application/json")
    if len(body) > 1024 and "gzip" in request.headers.get("Accept-Encoding", ""):
        resp.set_data(gzip.compress(body, 6))
        resp.headers["Content-Encoding"] = "gzip"
        resp.headers["Vary"] = "Accept-Encoding"
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/<int:door_id>/api/upload", endpoint="api_upload")
@api_v1.post("/door/upload", endpoint="door_upload")
@door_api(grace=doors.UPLOAD_GRACE)
def upload(ctx: doors.DoorContext):
    """Offline scans and walk-ins, in device order; each accepted or flagged, never refused.

    Also for UPLOAD_GRACE after the device's link expired, so scans made offline before then are not
    lost; then what was scanned after the expiry (see _after_expiry) is refused item by item.
    """
    data = _body()
    if isinstance(data.get("scans"), list) and len(data["scans"]) > schemas.MAX_UPLOAD:
        raise ApiError(413, "too_many_scans", f"Upload at most {schemas.MAX_UPLOAD} scans per request.")
    items = _load(schemas.UploadIn, data).scans
    return _with_inside(ctx, {"results": [_upload_one(ctx, item) for item in items]})


def _upload_one(ctx, item) -> dict:
    """One offline item through the same decision as /checkin or /walkin; its error stays its own."""
    nonce = item.get("nonce") if isinstance(item, dict) and isinstance(item.get("nonce"), str) else None
    try:
        scan = schemas.load_upload_item(item)
        if _after_expiry(ctx, scan.client_time):
            return _refuse_after_expiry(ctx, nonce, scan.client_time)
        if scan.kind == "walkin":
            verdict = admit_walkin(ctx, name=scan.name, email=scan.email, postal_code=scan.postal_code,
                                   guests=scan.guests, nonce=scan.nonce, client_time=scan.client_time,
                                   offline=True, online=_online(scan))
        elif scan.direction == "exit":
            verdict = check_out(_code_of(scan), ctx, ticket_id=scan.ticket_id, nonce=scan.nonce,
                                client_time=scan.client_time, people=scan.people, offline=True, online=_online(scan))
        else:
            verdict = check_in(_code_of(scan), ctx, ticket_id=scan.ticket_id, nonce=scan.nonce,
                               client_time=scan.client_time, people=scan.people, offline=True,
                               online=_online(scan), device_verdict=scan.device_verdict)
        return {"nonce": nonce, "ok": True, **verdict.to_dict()}
    except (CheckinInputError, schemas.SchemaError) as err:
        return {"nonce": nonce, "ok": False, "error": {"code": err.code, "message": err.message}}


def _after_expiry(ctx: doors.DoorContext, client_time) -> bool:
    """Whether an item uploaded on an expired link was made after it expired (or cannot say when it was made).

    The device's clock gets the same allowance as everywhere else (CLOCK_SKEW); on a link that has
    not expired every item goes on as before (a clock far ahead is flagged by the decision).
    """
    if not ctx.link_expired:
        return False
    return client_time is None or client_time > ctx.link_expires_at + CLOCK_SKEW


def _refuse_after_expiry(ctx: doors.DoorContext, nonce, client_time) -> dict:
    """The item's refusal: it counts no one, and the app log keeps what was refused."""
    logger.warning("door upload refused: scanned after the link expired (session %s, door %s, nonce %r, "
                   "client_time %s, link expired %s)", ctx.session_id, ctx.door_id, nonce,
                client_time.isoformat() if client_time else None, ctx.link_expires_at.isoformat())
    message = (gettext("This scan has no time, and this device's door link has expired: it was not counted.")
               if client_time is None else
               gettext("Scanned after this device's door link expired: it was not counted."))
    return {"nonce": nonce, "ok": False, "error": {"code": "scanned_after_expiry", "message": message}}


def _online(scan) -> bool | None:
    """How the device says it decided (the scanner page marks its offline queue); unsaid, the service infers it."""
    return True if scan.online is True else False if scan.offline is True else None


@bp.get("/<int:door_id>/api/whoami", endpoint="api_whoami")
@api_v1.get("/door/whoami", endpoint="door_whoami")
@door_api
def whoami(ctx: doors.DoorContext):
    """The device's door, rally and role."""
    return jsonify({"device": ctx.device_name, "role": ctx.role, "door": {"id": ctx.door_id, "name": ctx.door_name},
                    "rally_id": ctx.rally_id})


def set_session_cookie(response, door_id: int, secret: str) -> None:
    """Store the door-session secret in a cookie only this door's paths receive."""
    response.set_cookie(COOKIE, secret, path=cookie_path(door_id), httponly=True, samesite="Strict",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", True), max_age=14 * 24 * 3600)
