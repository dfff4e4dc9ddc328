"""Blueprint ``rsvp_admin`` at ``/organize/rallies/<rally_id>/rsvps``: a rally's RSVP list for organizers
(search, filter, pages, CSV, add, cancel) and its share links."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.guards import rally_or_404, rally_row_or_404, sees_contacts
from ..auth.roles import has_role
from ..mail.links import external_url
from ..models import Rsvp
from . import lists, lookups, rsvps
from .blueprint import admin_bp as bp
from .forms import ConfirmForm, RsvpForm, RsvpSearchForm, ShareLinkForm, strip_controls

PER_PAGE = lists.PER_PAGE


@bp.get("")
@login_required
def index(rally_id: int):
    """RSVPs of a rally: counters, prefix search, status filter, pages (contact columns for organizers only)."""
    rally = rally_or_404(rally_id)
    contacts = sees_contacts(rally.campaign_id)
    form = RsvpSearchForm(request.args)
    if not contacts:
        form.q.label.text = _("Search names")
    q = strip_controls(form.q.data) if form.validate() else ""
    status = form.status.data if form.status.data in lists.STATUSES else ""
    can_manage = has_role(current_user.id, rally.campaign_id, "organizer")
    page = lists.rsvp_page(rally.id, q, status, request.args.get("page", 1, type=int) or 1, contacts=contacts)
    return render_template("rsvp_admin/list.html", rally=rally, form=form, rows=page.items, total=page.total,
                           page=page.page, pages=max(1, page.pages), q=q, status=status, cancel_form=ConfirmForm(),
                           contacts=contacts, can_manage=can_manage,
                           clusters=lookups.lookalike_clusters(rally.id) if contacts else [])


@bp.get("/export.csv")
@login_required
def export_csv(rally_id: int):
    """All RSVPs of a rally as CSV (formula-injection safe); contact columns for organizers only."""
    rally = rally_or_404(rally_id)
    lines = lists.rsvps_csv(rally, contacts=sees_contacts(rally.campaign_id))
    return Response("".join(lines), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="rsvps-{rally.slug}.csv"', "Cache-Control": "no-store",
    })


@bp.get("/new")
@bp.post("/new")
@login_required
def add(rally_id: int):
    """Add someone by hand (they get the ticket email like anyone else)."""
    rally = rally_or_404(rally_id, "organizer")
    form = RsvpForm(rally=rally)
    if form.validate_on_submit():
        data = rsvps.RsvpInput(name=form.name.data, email=form.email.data, phone=form.phone.data or "",
                               postal_code=form.postal_code.data or "", guests=form.guests.data or 0,
                               opt_in=bool(form.opt_in.data), ref="organizer")
        try:
            result = rsvps.create_or_update_rsvp(rally, data, by_organizer=True)
        except rsvps.RsvpError as exc:
            form.form_errors.append(str(exc))
        else:
            updated = result.outcome in ("updated", "rejoined")
            flash(_("%(name)s is %(status)s (existing RSVP updated).", name=result.rsvp.name, status=result.rsvp.status)
                  if updated else _("%(name)s is %(status)s.", name=result.rsvp.name, status=result.rsvp.status),
                  "success")
            return redirect(url_for(".index", rally_id=rally.id), 303)
    return render_template("rsvp_admin/add.html", rally=rally, form=form), 422 if form.errors else 200


@bp.post("/<int:rsvp_id>/cancel")
@login_required
def cancel(rally_id: int, rsvp_id: int):
    """Cancel someone's RSVP (the waitlist moves up)."""
    rally = rally_or_404(rally_id, "organizer")
    rsvp = rally_row_or_404(Rsvp, rsvp_id, rally)
    try:
        if ConfirmForm().validate_on_submit() and rsvps.cancel_rsvp(rsvp):
            flash(_("RSVP cancelled; the waitlist has moved up if places were free."), "success")
    except rsvps.RsvpError as exc:
        flash(str(exc), "warning")
    return redirect(request.referrer if _same_site(request.referrer) else url_for(".index", rally_id=rally.id), 303)


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)


@bp.get("/share")
@bp.post("/share")
@login_required
def share(rally_id: int):
    """Build a share link carrying the organizer's own ref (and optional UTM values)."""
    rally = rally_or_404(rally_id)
    form = ShareLinkForm()
    link = None
    if form.validate_on_submit():
        params = {"ref": strip_controls(form.ref.data)}
        for name in ("utm_source", "utm_medium", "utm_campaign"):
            if getattr(form, name).data:
                params[name] = strip_controls(getattr(form, name).data)
        link = external_url("rsvp.rsvp_page", slug=rally.slug, **params)
    return render_template("rsvp_admin/share.html", rally=rally, form=form, link=link,
                           refs=lists.ref_counts(rally.id))
