"""Organizer pages for volunteer shifts: the shift list and roster, create, edit, delete, CSV export.

Every route loads the rally through rallies.auth.guards (another campaign's rally gives 404); viewers
see the roster, organizers change shifts (403 for viewers).
"""

from __future__ import annotations

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ..auth.guards import rally_or_404, rally_row_or_404, sees_contacts
from ..auth.roles import has_role
from ..door.doors import doors_of
from ..extensions import limiter
from ..messaging.reports import campaign_id_of
from ..models import Rally, Shift
from ..rallies.lifecycle import local_naive
from .blueprint import organize_bp as bp
from .forms import ConfirmForm, MessageForm, ShiftForm
from .messages import MessageError, message_volunteers, volunteer_count
from .roster import door_totals, roster, roster_csv
from .shifts import ShiftError, ShiftInput, create_shift, delete_shift, update_shift


def _form(rally: Rally, shift: Shift | None = None, submitted: bool = False) -> ShiftForm:
    if submitted:
        form = ShiftForm()
    elif shift is not None:
        form = ShiftForm(formdata=None, data={
            "door_id": shift.door_id, "starts_local": local_naive(shift.starts_at, rally.timezone),
            "ends_local": local_naive(shift.ends_at, rally.timezone), "slots": shift.slots, "role": shift.role,
            "notes": shift.notes})
    else:
        form = ShiftForm(formdata=None)
    form.door_id.choices = [SelectChoice(d.id, d.name) for d in doors_of(rally.id)]
    return form


def _input(form: ShiftForm) -> ShiftInput:
    return ShiftInput(door_id=form.door_id.data, starts_local=form.starts_local.data, ends_local=form.ends_local.data,
                      slots=form.slots.data, role=form.role.data, notes=form.notes.data or "")


def _show_error(form: ShiftForm, err: ShiftError) -> None:
    field = form._fields.get(err.field or "")
    if field is not None:
        field.errors = [*field.errors, err.message]
    else:
        form.form_errors.append(err.message)


def _edit_page(rally: Rally, form: ShiftForm, shift: Shift | None, status: int):
    return render_template("shifts/shift_form.html", rally=rally, form=form, shift=shift), status


@bp.get("/")
@login_required
def index(rally_id: int):
    """The rally's shifts with filled and open places, its volunteers and their door devices."""
    return _index(rally_or_404(rally_id), MessageForm(formdata=None))


def _index(rally: Rally, message_form: MessageForm, status: int = 200):
    items = roster(rally.id)
    return render_template("shifts/roster.html", rally=rally, roster=items, by_door=door_totals(items),
                           can_edit=has_role(current_user.id, rally.campaign_id, "organizer"),
                           contacts=sees_contacts(rally.campaign_id), message_form=message_form,
                           volunteers=volunteer_count(rally.id)), status


@bp.get("/roster.csv")
@login_required
def export(rally_id: int):
    """The roster as CSV (organizers: it holds volunteers' contact details)."""
    rally = rally_or_404(rally_id, "organizer")
    resp = Response(roster_csv(rally.id, rally.timezone), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="volunteers-{rally.id}.csv"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/new")
@bp.post("/new")
@login_required
def new(rally_id: int):
    """Add a shift."""
    rally = rally_or_404(rally_id, "organizer")
    form = _form(rally, submitted=True)
    if not form.validate_on_submit():
        return _edit_page(rally, form, None, 422 if form.is_submitted() else 200)
    try:
        create_shift(rally, _input(form))
    except ShiftError as err:
        _show_error(form, err)
        return _edit_page(rally, form, None, 422)
    flash(_("Shift added."), "success")
    return redirect(url_for("shifts.index", rally_id=rally.id), 303)


@bp.get("/<int:shift_id>/edit")
@bp.post("/<int:shift_id>/edit")
@login_required
def edit(rally_id: int, shift_id: int):
    """Change a shift (its volunteers' door links move with its times)."""
    rally = rally_or_404(rally_id, "organizer")
    shift = rally_row_or_404(Shift, shift_id, rally)
    form = _form(rally, shift, submitted=request.method == "POST")
    if not form.validate_on_submit():
        return _edit_page(rally, form, shift, 422 if form.is_submitted() else 200)
    try:
        update_shift(shift, _input(form))
    except ShiftError as err:
        _show_error(form, err)
        return _edit_page(rally, form, shift, 422)
    flash(_("Shift saved."), "success")
    return redirect(url_for("shifts.index", rally_id=rally.id), 303)


def _campaign_key() -> str:
    return f"volunteer-messages:{campaign_id_of((request.view_args or {}).get('rally_id', 0))}"


@bp.post("/message")
@login_required
@limiter.limit(lambda: current_app.config["RATELIMIT_MESSAGES_CAMPAIGN"], key_func=_campaign_key,
               deduct_when=lambda resp: resp.status_code == 303)
def message(rally_id: int):
    """Email every volunteer of the rally, through the outbox."""
    rally = rally_or_404(rally_id, "organizer")
    form = MessageForm()
    if form.validate_on_submit():
        try:
            sent = message_volunteers(rally, form.subject.data, form.body.data, form.key.data or "")
        except MessageError as err:
            form.form_errors.append(str(err))
        else:
            flash(ngettext("Your message is on its way to %(num)d volunteer.",
                           "Your message is on its way to %(num)d volunteers.", sent), "success")
            return redirect(url_for("shifts.index", rally_id=rally.id), 303)
    return _index(rally, form, 422)


@bp.post("/<int:shift_id>/delete")
@login_required
def delete(rally_id: int, shift_id: int):
    """Delete a shift; its volunteers' door links stop working at once."""
    rally = rally_or_404(rally_id, "organizer")
    shift = rally_row_or_404(Shift, shift_id, rally)
    if not ConfirmForm().validate_on_submit():
        flash(_("The form expired. Try again."), "error")
        return redirect(url_for("shifts.index", rally_id=rally.id), 303)
    had = delete_shift(shift)
    flash(ngettext("Shift deleted; the door link of its volunteer no longer works.",
                   "Shift deleted; the door links of its %(num)d volunteers no longer work.", had) if had
          else _("Shift deleted."), "success")
    return redirect(url_for("shifts.index", rally_id=rally.id), 303)
