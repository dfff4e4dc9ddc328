"""Organizer door management: doors, door links (with QR), API tokens, scan log, conflict report.

Every route loads the rally through rallies.auth.guards (another campaign's rally gives 404);
viewers may read the log and reports, organizers change things.
"""

from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ..auth.guards import rally_or_404, rally_row_or_404
from ..models import Door, DoorLink, DoorSession, utcnow
from ..rallies import counters
from ..rsvp import tickets
from . import doors
from .blueprint import bp
from .forms import DoorForm, LinkForm, TokenForm, WalkinForm
from .scans import conflict_report, scan_log


def _forms(rally_id: int, door_form=None, link_form=None, token_form=None):
    choices = [SelectChoice(d.id, d.name) for d in doors.doors_of(rally_id)]
    link_form = link_form or LinkForm(formdata=None)
    token_form = token_form or TokenForm(formdata=None)
    link_form.door_id.choices = token_form.door_id.choices = choices
    return door_form or DoorForm(formdata=None), link_form, token_form


def _page(rally, status=200, walkin_form=None, **forms):
    door_form, link_form, token_form = _forms(rally.id, **forms)
    walkin_form = walkin_form or WalkinForm(formdata=None, data={"walkin_limit": rally.walkin_limit})
    return render_template(
        "door/manage.html", rally=rally, doors=counters.door_totals(rally.id), links=doors.links_of(rally.id),
        sessions=doors.sessions_of(rally.id), door_form=door_form, link_form=link_form, token_form=token_form,
        walkin_form=walkin_form, now=utcnow(),
    ), status


@bp.get("/rally/<int:rally_id>/")
@login_required
def manage(rally_id: int):
    """The rally's doors, links, devices and API tokens."""
    return _page(rally_or_404(rally_id))


@bp.post("/rally/<int:rally_id>/doors")
@login_required
def add_door(rally_id: int):
    """Add an entrance."""
    rally = rally_or_404(rally_id, "organizer")
    form = DoorForm()
    if not form.validate_on_submit():
        return _page(rally, 422, door_form=form)
    try:
        door = doors.create_door(rally, form.name.data, form.lanes.data or 1)
    except doors.DoorError as err:
        form.name.errors.append(err.message)
        return _page(rally, 422, door_form=form)
    flash(gettext("Added the door “%(name)s”.", name=door.name), "success")
    return redirect(url_for("door.manage", rally_id=rally.id))


@bp.post("/rally/<int:rally_id>/walkins")
@login_required
def set_walkins(rally_id: int):
    """Set how many walk-in people the doors may admit beyond free places."""
    rally = rally_or_404(rally_id, "organizer")
    form = WalkinForm()
    if not form.validate_on_submit():
        return _page(rally, 422, walkin_form=form)
    doors.set_walkin_limit(rally, form.walkin_limit.data)
    flash(gettext("Walk-in places saved.") if rally.walkin_limit is not None
          else gettext("Walk-ins now fill only free places."), "success")
    return redirect(url_for("door.manage", rally_id=rally.id))


def _door_of(rally, door_id: int) -> Door:
    return rally_row_or_404(Door, door_id, rally)


@bp.post("/rally/<int:rally_id>/links")
@login_required
def add_link(rally_id: int):
    """Make a door link; its URL and QR are shown once, on the next page."""
    rally = rally_or_404(rally_id, "organizer")
    form = LinkForm()
    _forms(rally.id, link_form=form)
    if not form.validate_on_submit():
        return _page(rally, 422, link_form=form)
    door = _door_of(rally, form.door_id.data)
    expires_at = utcnow() + timedelta(hours=form.valid_hours.data) if form.valid_hours.data else None
    link, secret = doors.create_link(door, form.role.data, expires_at, form.label.data or "", current_user.id)
    return _show_secret(rally, link.door, link.role, url_for("door.open_link", secret=secret, _external=True),
                        "door link", expires_at=link.expires_at)


@bp.post("/rally/<int:rally_id>/tokens")
@login_required
def add_token(rally_id: int):
    """Make an API token for a third-party device at one door; shown once."""
    rally = rally_or_404(rally_id, "organizer")
    form = TokenForm()
    _forms(rally.id, token_form=form)
    if not form.validate_on_submit():
        return _page(rally, 422, token_form=form)
    door = _door_of(rally, form.door_id.data)
    session, secret = doors.create_api_token(door, form.role.data, form.device_name.data, current_user.id)
    return _show_secret(rally, door, session.role, secret, "API token")


def _show_secret(rally, door, role, secret, kind, expires_at=None):
    qr = tickets.link_qr_svg(secret) if kind == "door link" else None
    resp = render_template("door/secret.html", rally=rally, door=door, role=role, secret=secret, kind=kind, qr=qr,
                           expires_at=expires_at)
    return resp, 201, {"Cache-Control": "no-store"}


@bp.post("/rally/<int:rally_id>/links/<int:link_id>/revoke")
@login_required
def revoke_link(rally_id: int, link_id: int):
    """Revoke a door link now: its devices stop at their next request or sync."""
    rally = rally_or_404(rally_id, "organizer")
    link = rally_row_or_404(DoorLink, link_id, rally)
    doors.revoke_link(link)
    flash(gettext("The link is revoked. Devices that opened it stop at their next request."), "success")
    return redirect(url_for("door.manage", rally_id=rally.id))


@bp.post("/rally/<int:rally_id>/sessions/<int:session_id>/revoke")
@login_required
def revoke_session(rally_id: int, session_id: int):
    """Sign one device (or API token) out now."""
    rally = rally_or_404(rally_id, "organizer")
    session = rally_row_or_404(DoorSession, session_id, rally)
    doors.revoke_session(session)
    flash(gettext("“%(device)s” is signed out.", device=session.device_name), "success")
    return redirect(url_for("door.manage", rally_id=rally.id))


@bp.get("/rally/<int:rally_id>/log")
@login_required
def log(rally_id: int):
    """The scan log: every scan, admitted or refused, newest first."""
    rally = rally_or_404(rally_id)
    before = request.args.get("before", type=int)
    if before is not None and not 0 < before < 2**63:  # scan ids are BIGINT
        before = None
    hide_invalid = request.args.get("hide_invalid", "") in ("1", "true", "on")
    link_id = request.args.get("link", type=int)
    link = rally_row_or_404(DoorLink, link_id, rally) if link_id is not None and 0 < link_id < 2**31 else None
    scans = scan_log(rally.id, None, before, 200, hide_invalid=hide_invalid, link_id=link.id if link else None)
    return render_template("door/log.html", rally=rally, scans=scans, hide_invalid=hide_invalid, link=link,
                           next_before=scans[-1]["id"] if len(scans) == 200 else None)


@bp.get("/rally/<int:rally_id>/conflicts")
@login_required
def conflicts(rally_id: int):
    """Tickets admitted twice while devices were offline: each ticket, both doors, both times."""
    rally = rally_or_404(rally_id)
    return render_template("door/conflicts.html", rally=rally, conflicts=conflict_report(rally.id))
