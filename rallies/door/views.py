"""Door pages: open a door link, name the device, the scanner page, its service worker and manifest."""

from __future__ import annotations

import base64
import json

from flask import Response, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from ..auth.roles import has_role
from ..dates import local_time
from ..extensions import db, limiter
from ..models import Door, Rally
from . import doors
from .api import COOKIE, cookie_path, set_session_cookie
from .blueprint import bp
from .forms import DeviceForm
from .texts import scanner_texts


def _no_store(resp):
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def _link_limit() -> str:
    return current_app.config.get("RATELIMIT_DOOR_LINK", "10 per minute;60 per hour")


@bp.get("/l/<secret>")
@bp.post("/l/<secret>")
@limiter.limit(_link_limit, methods=["POST"])
def open_link(secret: str):
    """A door link: name this device, then go to the scanner page."""
    link = doors.find_link(secret)
    problem = doors.link_problem(link)
    if problem:
        resp = make_response(render_template("door/closed.html", code=problem.code, message=problem.message,
                                             window=_link_window(link, problem.code)), 403)
        return _no_store(resp)
    form = DeviceForm(data={"device_name": link.holder_name} if link.holder_name else None)
    if form.validate_on_submit():
        try:
            session, token = doors.open_link(secret, form.device_name.data,
                                             current_app.config.get("DOOR_DEVICES_PER_LINK", doors.DEVICES_PER_LINK))
        except doors.DoorError as err:
            form.device_name.errors.append(err.message)
        else:
            resp = redirect(url_for("door.scanner", door_id=session.door_id))
            set_session_cookie(resp, session.door_id, token)
            return _no_store(resp)
    resp = make_response(render_template("door/open_link.html", form=form, link=link, door=link.door, rally=link.rally),
                         422 if form.errors else 200)
    return _no_store(resp)


def _link_window(link, code: str) -> dict | None:
    """For a link with an opening time used too early or too late: when it works, in the rally's zone, and
    the shift it was made for (a volunteer's link)."""
    if link is None or link.not_before is None or code not in ("link_not_yet", "link_expired"):
        return None
    from ..volunteers.signups import signup_for_link

    tz = link.rally.timezone
    signup = signup_for_link(link.id)
    shift = signup.shift if signup is not None else None
    return {"early": code == "link_not_yet", "opens": local_time(link.not_before, tz),
            "closes": local_time(link.expires_at, tz), "door": link.door.name,
            "starts": local_time(shift.starts_at, tz) if shift else "", "ends": local_time(shift.ends_at, tz) if shift else ""}


def _organizer_door(door_id: int) -> Door | None:
    """The door if the logged-in user organizes its campaign."""
    door = db.session.get(Door, door_id)
    if door is None or not current_user.is_authenticated:
        return None
    rally = db.session.get(Rally, door.rally_id)
    return door if has_role(current_user.id, rally.campaign_id, "organizer") else None


@bp.get("/<int:door_id>/")
def scanner(door_id: int):
    """The scanner page (a PWA): the door session cookie, or an organizer naming this device."""
    secret = request.cookies.get(COOKIE)
    ctx = None
    error = None
    if secret:
        try:
            ctx = doors.authenticate(secret, door_id)
        except doors.DoorAccessError as err:
            error = err
    if ctx is None:
        door = _organizer_door(door_id)
        if door is not None and error is None:
            form = DeviceForm()
            return _no_store(make_response(render_template("door/start.html", form=form, door=door, rally=door.rally)))
        if error is None:
            error = doors.DoorAccessError("unauthenticated", gettext("Open your door link on this device to start scanning."))
        resp = make_response(render_template("door/closed.html", code=error.code, message=error.message), 401)
        if error.code in ("link_revoked", "link_expired", "session_revoked"):
            resp.delete_cookie(COOKIE, path=cookie_path(door_id))
        return _no_store(resp)
    rally = db.session.get(Rally, ctx.rally_id)
    public_key = base64.b64encode(rally.public_key or b"").decode("ascii")
    resp = make_response(render_template("door/scanner.html", ctx=ctx, rally=rally, public_key=public_key,
                                         texts=scanner_texts()))
    # The service worker keeps its own copy for offline use; the network copy is always fresh.
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.post("/<int:door_id>/start")
def start(door_id: int):
    """An organizer of the campaign starts scanning at this door on this device."""
    door = _organizer_door(door_id)
    if door is None:
        abort(404)
    form = DeviceForm()
    if not form.validate_on_submit():
        return render_template("door/start.html", form=form, door=door, rally=door.rally), 422
    _session, token = doors.organizer_session(current_user.id, door, form.device_name.data)
    resp = redirect(url_for("door.scanner", door_id=door_id))
    set_session_cookie(resp, door_id, token)
    return _no_store(resp)


@bp.post("/<int:door_id>/signout")
def signout(door_id: int):
    """End this device's door session (the scanner page's sign-out button)."""
    doors.sign_out(request.cookies.get(COOKIE), door_id)
    flash(gettext("This device is signed out of the door."), "info")
    resp = redirect(url_for("rallies.index"))
    resp.delete_cookie(COOKIE, path=cookie_path(door_id))
    return resp


@bp.get("/sw.js")
def service_worker():
    """The service worker; served from /door/ so its scope covers every door page."""
    body = render_template("door/sw.js", version=_asset_version())
    resp = Response(body, mimetype="text/javascript")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Service-Worker-Allowed"] = "/door/"
    return resp


@bp.get("/<int:door_id>/manifest.webmanifest")
def manifest(door_id: int):
    """The web app manifest, so the scanner can be added to the home screen."""
    body = {
        "name": "Rallies door scanner", "short_name": "Door", "start_url": url_for("door.scanner", door_id=door_id),
        "scope": cookie_path(door_id), "display": "standalone", "background_color": "#102a43",
        "theme_color": "#102a43", "icons": [
            {"src": url_for("static", filename="img/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": url_for("static", filename="img/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": url_for("static", filename="img/icon-maskable-512.png"), "sizes": "512x512", "type": "image/png",
             "purpose": "maskable"},
        ],
    }
    return current_app.response_class(json.dumps(body), mimetype="application/manifest+json")


def _asset_version() -> str:
    """Changes when any door asset changes, so the worker re-caches them."""
    import hashlib
    from pathlib import Path

    root = Path(current_app.static_folder)
    digest = hashlib.sha256()
    for path in sorted((root / "js" / "door").glob("*.js")) + [root / "css" / "door.css"]:
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
