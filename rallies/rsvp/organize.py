"""Organizer views: a rally's RSVP list (search, filter, pages, CSV, add, cancel, share links)
and the campaign's supporters (export one person's data, delete a person)."""

from __future__ import annotations

import json

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..auth.guards import campaign_or_404, rally_or_404, rally_row_or_404, sees_contacts
from ..auth.roles import CONTACTS_MIN_ROLE, has_role
from ..extensions import db
from ..mail.links import external_url
from ..models import Rsvp, Supporter
from . import lists, lookups, rsvps, supporters
from .blueprint import bp
from .forms import ConfirmForm, RsvpForm, RsvpSearchForm, ShareLinkForm, strip_controls

PER_PAGE = lists.PER_PAGE


@bp.get("/organize/rallies/<int:rally_id>/rsvps")
@login_required
def organize_list(rally_id: int):
    """RSVPs of a rally: counters, prefix search, status filter, pages (contact columns for organizers only)."""
    rally = rally_or_404(rally_id)
    contacts = sees_contacts(rally.campaign_id)
    form = RsvpSearchForm(request.args)
    if not contacts:
        form.q.label.text = "Search names"
    q = strip_controls(form.q.data) if form.validate() else ""
    status = form.status.data if form.status.data in lists.STATUSES else ""
    can_manage = has_role(current_user.id, rally.campaign_id, "organizer")
    page = lists.rsvp_page(rally.id, q, status, request.args.get("page", 1, type=int) or 1, contacts=contacts)
    return render_template("rsvp/organize_list.html", rally=rally, form=form, rows=page.items, total=page.total,
                           page=page.page, pages=max(1, page.pages), q=q, status=status, cancel_form=ConfirmForm(),
                           contacts=contacts, can_manage=can_manage,
                           clusters=lookups.lookalike_clusters(rally.id) if contacts else [])


@bp.get("/organize/rallies/<int:rally_id>/rsvps.csv")
@login_required
def organize_csv(rally_id: int):
    """All RSVPs of a rally as CSV (formula-injection safe); contact columns for organizers only."""
    rally = rally_or_404(rally_id)
    lines = lists.rsvps_csv(rally, contacts=sees_contacts(rally.campaign_id))
    return Response("".join(lines), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="rsvps-{rally.slug}.csv"', "Cache-Control": "no-store",
    })


@bp.get("/organize/rallies/<int:rally_id>/rsvps/new")
@bp.post("/organize/rallies/<int:rally_id>/rsvps/new")
@login_required
def organize_add(rally_id: int):
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
            flash(f"{result.rsvp.name} is {result.rsvp.status}" + (" (existing RSVP updated)."
                  if result.outcome in ("updated", "rejoined") else "."), "success")
            return redirect(url_for(".organize_list", rally_id=rally.id), 303)
    return render_template("rsvp/organize_add.html", rally=rally, form=form), 422 if form.errors else 200


@bp.post("/organize/rallies/<int:rally_id>/rsvps/<int:rsvp_id>/cancel")
@login_required
def organize_cancel(rally_id: int, rsvp_id: int):
    """Cancel someone's RSVP (the waitlist moves up)."""
    rally = rally_or_404(rally_id, "organizer")
    rsvp = rally_row_or_404(Rsvp, rsvp_id, rally)
    try:
        if ConfirmForm().validate_on_submit() and rsvps.cancel_rsvp(rsvp):
            flash("RSVP cancelled; the waitlist has moved up if places were free.", "success")
    except rsvps.RsvpError as exc:
        flash(str(exc), "warning")
    return redirect(request.referrer if _same_site(request.referrer) else url_for(".organize_list", rally_id=rally.id), 303)


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)


@bp.get("/organize/rallies/<int:rally_id>/share")
@bp.post("/organize/rallies/<int:rally_id>/share")
@login_required
def organize_share(rally_id: int):
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
    return render_template("rsvp/organize_share.html", rally=rally, form=form, link=link,
                           refs=lists.ref_counts(rally.id))


# ------------------------------------------------------------------------------------------ supporters


@bp.get("/organize/campaigns/<int:campaign_id>/supporters")
@login_required
def supporters_list(campaign_id: int):
    """A campaign's supporters (one per email), searchable by email or name prefix."""
    campaign = campaign_or_404(campaign_id, CONTACTS_MIN_ROLE)
    q = strip_controls(request.args.get("q"))[:100]
    page = max(1, request.args.get("page", 1, type=int) or 1)
    people = supporters.find_supporters(campaign.id, q, limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE)
    return render_template("rsvp/supporters.html", campaign=campaign, people=people[:PER_PAGE], q=q, page=page,
                           has_next=len(people) > PER_PAGE)


def _supporter_or_404(campaign_id: int, supporter_id: int) -> Supporter:
    # Supporters are people by email: every page of theirs is contact data.
    campaign_or_404(campaign_id, CONTACTS_MIN_ROLE)
    person = db.session.get(Supporter, supporter_id)
    if person is None or person.campaign_id != campaign_id or person.email is None:
        abort(404)
    return person


@bp.get("/organize/campaigns/<int:campaign_id>/supporters/<int:supporter_id>.json")
@login_required
def supporter_export(campaign_id: int, supporter_id: int):
    """Everything held about one person, as a JSON download."""
    person = _supporter_or_404(campaign_id, supporter_id)
    body = json.dumps(supporters.export_person(person), indent=2, ensure_ascii=False)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="supporter-{person.id}.json"', "Cache-Control": "no-store",
    })


@bp.get("/organize/campaigns/<int:campaign_id>/supporters/<int:supporter_id>/delete")
@bp.post("/organize/campaigns/<int:campaign_id>/supporters/<int:supporter_id>/delete")
@login_required
def supporter_delete(campaign_id: int, supporter_id: int):
    """Confirm (GET), then erase the person's personal data everywhere (POST); counts stay."""
    person = _supporter_or_404(campaign_id, supporter_id)
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        count = supporters.delete_person(person)
        flash(f"Deleted. Personal data removed from {count} RSVP(s); turnout counts are unchanged.", "success")
        return redirect(url_for(".supporters_list", campaign_id=campaign_id), 303)
    return render_template("rsvp/supporter_delete.html", person=person, campaign_id=campaign_id, form=form)
