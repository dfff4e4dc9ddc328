"""Blueprint ``supporters`` at ``/organize/campaigns/<campaign_id>/supporters``: a campaign's supporters
(one per mailbox), one person's data as JSON, and erasing a person."""

from __future__ import annotations

import json

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from ..auth.guards import campaign_or_404
from ..auth.roles import CONTACTS_MIN_ROLE
from ..extensions import db
from ..models import Supporter
from . import lists, supporters
from .blueprint import supporters_bp as bp
from .forms import ConfirmForm, strip_controls

PER_PAGE = lists.PER_PAGE


@bp.get("")
@login_required
def index(campaign_id: int):
    """A campaign's supporters (one per email), searchable by email or name prefix."""
    campaign = campaign_or_404(campaign_id, CONTACTS_MIN_ROLE)
    q = strip_controls(request.args.get("q"))[:100]
    page = max(1, request.args.get("page", 1, type=int) or 1)
    people = supporters.find_supporters(campaign.id, q, limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE)
    return render_template("supporters/list.html", campaign=campaign, people=people[:PER_PAGE], q=q, page=page,
                           has_next=len(people) > PER_PAGE)


def _supporter_or_404(campaign_id: int, supporter_id: int) -> Supporter:
    # Supporters are people by email: every page of theirs is contact data.
    campaign_or_404(campaign_id, CONTACTS_MIN_ROLE)
    person = db.session.get(Supporter, supporter_id)
    if person is None or person.campaign_id != campaign_id or person.email is None:
        abort(404)
    return person


@bp.get("/<int:supporter_id>.json")
@login_required
def export(campaign_id: int, supporter_id: int):
    """Everything held about one person, as a JSON download."""
    person = _supporter_or_404(campaign_id, supporter_id)
    body = json.dumps(supporters.export_person(person), indent=2, ensure_ascii=False)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="supporter-{person.id}.json"', "Cache-Control": "no-store",
    })


@bp.get("/<int:supporter_id>/delete")
@bp.post("/<int:supporter_id>/delete")
@login_required
def delete(campaign_id: int, supporter_id: int):
    """Confirm (GET), then erase the person's personal data everywhere (POST); counts stay."""
    person = _supporter_or_404(campaign_id, supporter_id)
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        count = supporters.delete_person(person)
        flash(_("Deleted. Personal data removed from %(count)s RSVP(s); turnout counts are unchanged.", count=count), "success")
        return redirect(url_for(".index", campaign_id=campaign_id), 303)
    return render_template("supporters/delete.html", person=person, campaign_id=campaign_id, form=form)
