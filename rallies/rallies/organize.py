"""Organizer rally management: dashboard, create, edit, cancel, re-publish, pin correction.

Every route loads its campaign or rally through rallies.auth.guards, so another campaign's
id gives 404; viewers may look but not change (403 on changing routes).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.guards import campaign_or_404, current_memberships, rally_or_404
from ..auth.roles import has_role
from ..extensions import db
from ..models import ROLE_RANK, Rally
from .blueprint import organize_bp as bp
from .change_notice import preview_change
from .forms import CancelForm, ChangeNoticeForm, PinForm, RallyForm
from .lifecycle import (
    RallyDetails,
    RallyError,
    cancel_rally,
    create_rally,
    is_flagged,
    known_timezones,
    regeocode,
    republish_rally,
    set_pin,
    update_rally,
)

if TYPE_CHECKING:
    from ..geo import folium_maps

#: Where an unplaced rally's draggable pin starts: the middle of the contiguous US.
_US_CENTER = (39.83, -98.58)


@bp.get("/")
@login_required
def dashboard():
    """The organizer's home: each campaign with its rallies, counters and address warnings."""
    memberships = current_memberships()
    ids = [m.campaign_id for m in memberships]
    rallies_by_campaign: dict[int, list[Rally]] = {i: [] for i in ids}
    if ids:
        for rally in db.session.scalars(
            db.select(Rally).where(Rally.campaign_id.in_(ids)).order_by(Rally.starts_at.desc(), Rally.id)
        ):
            rallies_by_campaign[rally.campaign_id].append(rally)
    return render_template("organize/dashboard.html", memberships=memberships, rallies=rallies_by_campaign,
                           can_edit={m.campaign_id: ROLE_RANK[m.role] >= ROLE_RANK["organizer"] for m in memberships})


def _show_errors(form: RallyForm, err: RallyError) -> None:
    field = form._fields.get(err.field or "")
    if field is not None:
        field.errors = [*field.errors, err.message]
    else:
        form.form_errors.append(err.message)


def _render_form(form: RallyForm, campaign, rally: Rally | None, status: int = 200):
    return render_template("organize/form.html", form=form, campaign=campaign, rally=rally,
                           timezones=known_timezones()), status


@bp.get("/campaigns/<int:campaign_id>/rallies/new")
@bp.post("/campaigns/<int:campaign_id>/rallies/new")
@login_required
def new(campaign_id: int):
    """Create a rally in one of the user's campaigns (organizers and owners)."""
    campaign = campaign_or_404(campaign_id, "organizer")
    form = RallyForm()
    if not form.validate_on_submit():
        return _render_form(form, campaign, None, 422 if form.is_submitted() else 200)
    try:
        rally = create_rally(campaign.id, RallyDetails.from_mapping(form.details()))
    except RallyError as err:
        _show_errors(form, err)
        return _render_form(form, campaign, None, 422)
    flash(f"Created “{rally.title}”.", "success")
    if is_flagged(rally):
        flash("We could not find that address. The rally is saved; place its pin on the map below.", "warning")
    return redirect(url_for("organize.manage", rally_id=rally.id))


@bp.get("/rallies/<int:rally_id>")
@login_required
def manage(rally_id: int):
    """One rally for its team: details, counters, where the pin landed; organizers can move it."""
    rally = rally_or_404(rally_id)
    can_edit = has_role(current_user.id, rally.campaign_id, "organizer")
    pin_form = PinForm(data={"lat": rally.lat, "lon": rally.lon}) if can_edit else None
    return render_template("organize/manage.html", rally=rally, can_edit=can_edit, pin_form=pin_form,
                           map=_pin_map(rally, can_edit))


def _pin_map(rally: Rally, draggable: bool) -> folium_maps.MapParts | None:
    placed = rally.lat is not None and rally.lon is not None
    if not placed and not draggable:
        return None
    center = (rally.lat, rally.lon) if placed else _US_CENTER
    from ..geo import folium_maps  # folium loads with the first map, not when a worker starts

    m = folium_maps.new_map(center, zoom=16 if placed else 4)
    marker = folium_maps.add_marker(m, center, popup=rally.venue_name or rally.title, tooltip=rally.title,
                             draggable=draggable)
    if draggable:
        folium_maps.drag_to_inputs(m, marker, "lat", "lon")
    return folium_maps.map_parts(m)


@bp.get("/rallies/<int:rally_id>/edit")
@bp.post("/rallies/<int:rally_id>/edit")
@login_required
def edit(rally_id: int):
    """Edit a rally; changing the address geocodes it again.

    An edit that moves a scheduled rally with supporters first shows a preview of the change notice
    (step "confirm" saves, with or without telling them; step "edit" goes back to the form).
    """
    rally = rally_or_404(rally_id, "organizer")
    form = RallyForm() if request.method == "POST" else RallyForm(data=RallyForm.prefill(asdict(RallyDetails.of(rally))))
    if not form.validate_on_submit():
        return _render_form(form, rally.campaign, rally, 422 if form.is_submitted() else 200)
    step = request.form.get("step", "")
    if step == "edit":
        return _render_form(form, rally.campaign, rally)
    details = RallyDetails.from_mapping(form.details())
    notice = ChangeNoticeForm()
    try:
        if step != "confirm":
            preview = preview_change(rally, details)
            if preview is not None:
                return render_template("organize/change_preview.html", rally=rally, form=form, preview=preview,
                                       notice=ChangeNoticeForm(formdata=None))
        told = update_rally(rally, details, notify=step != "confirm" or bool(notice.notify.data))
    except RallyError as err:
        _show_errors(form, err)
        return _render_form(form, rally.campaign, rally, 422)
    flash(_("Saved. Supporters are being told.") if step == "confirm" and notice.notify.data and told
          else _("Saved."), "success")
    if is_flagged(rally):
        flash("We could not find that address. Place the pin on the map.", "warning")
    return redirect(url_for("organize.manage", rally_id=rally.id))


@bp.get("/rallies/<int:rally_id>/cancel")
@bp.post("/rallies/<int:rally_id>/cancel")
@login_required
def cancel(rally_id: int):
    """Cancel a rally with a message shown on its page and sent to supporters."""
    rally = rally_or_404(rally_id, "organizer")
    form = CancelForm()
    if form.validate_on_submit():
        try:
            cancel_rally(rally, form.message.data)
        except RallyError as err:
            flash(err.message, "error")
        else:
            flash("The rally is cancelled. Supporters who RSVPed are being told.", "success")
        return redirect(url_for("organize.manage", rally_id=rally.id))
    return render_template("organize/cancel.html", rally=rally, form=form), 422 if form.is_submitted() else 200


@bp.post("/rallies/<int:rally_id>/republish")
@login_required
def republish(rally_id: int):
    """Undo a cancellation."""
    rally = rally_or_404(rally_id, "organizer")
    try:
        republish_rally(rally)
    except RallyError as err:
        flash(err.message, "error")
        return redirect(url_for("organize.manage", rally_id=rally.id)), 409
    flash("The rally is scheduled again.", "success")
    return redirect(url_for("organize.manage", rally_id=rally.id))


@bp.post("/rallies/<int:rally_id>/pin")
@login_required
def pin(rally_id: int):
    """Set the pin by hand (dragged marker or typed coordinates)."""
    rally = rally_or_404(rally_id, "organizer")
    form = PinForm()
    if not form.validate_on_submit():
        return render_template("organize/manage.html", rally=rally, can_edit=True, pin_form=form,
                               map=_pin_map(rally, True)), 422
    try:
        set_pin(rally, float(form.lat.data), float(form.lon.data))
    except RallyError as err:  # pragma: no cover - the form's ranges already match the service's
        flash(err.message, "error")
        abort(422)
    flash("Pin moved. Its precision is now “set by hand”.", "success")
    return redirect(url_for("organize.manage", rally_id=rally.id))


@bp.post("/rallies/<int:rally_id>/geocode")
@login_required
def geocode_again(rally_id: int):
    """Look the address up again, replacing the current pin."""
    rally = rally_or_404(rally_id, "organizer")
    regeocode(rally)
    if is_flagged(rally):
        flash("We still could not find that address. Place the pin by hand.", "warning")
    else:
        flash("Address looked up again.", "success")
    return redirect(url_for("organize.manage", rally_id=rally.id))
