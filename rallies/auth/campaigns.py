"""Campaign teams: the user's campaigns, the team page, invites by link, roles and removal.

Every route that takes a campaign id loads it with ``campaign_or_404`` first, so another
campaign's id is a 404 and a too-low role is a 403; member and invite ids are then looked
up inside that campaign only.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..models import ROLE_ORGANIZER, ROLE_OWNER, ROLE_RANK, ROLE_VIEWER, Campaign
from . import teams
from .blueprint import bp
from .forms import CampaignForm, CampaignSettingsForm, InviteForm, RoleForm
from .guards import campaign_or_404
from .roles import role_in


def _team_page(campaign: Campaign, *, invite_form: InviteForm | None = None, rename_form: CampaignForm | None = None,
               new_link: str | None = None, settings_form: CampaignSettingsForm | None = None, status: int = 200):
    """Render the team page (also after a failed or successful POST, with its forms)."""
    role = role_in(current_user.id, campaign.id)
    return render_template(
        "auth/team.html",
        campaign=campaign,
        my_role=role,
        can_invite=ROLE_RANK[role] >= ROLE_RANK[ROLE_ORGANIZER],
        is_owner=role == ROLE_OWNER,
        members=teams.members(campaign.id),
        invites=teams.pending_invites(campaign.id),
        invite_form=invite_form or InviteForm(formdata=None),
        rename_form=rename_form or CampaignForm(formdata=None, name=campaign.name),
        settings_form=settings_form or CampaignSettingsForm(formdata=None, contact_email=campaign.contact_email,
                                                            default_locale=campaign.default_locale),
        roles=teams.ROLES,
        role_labels=teams.ROLE_LABELS,
        new_link=new_link,
        max_age_days=current_app.config["INVITE_MAX_AGE_DAYS"],
    ), status


@bp.get("/campaigns")
@login_required
def campaigns():
    """The user's campaigns with their role in each, and a form to start another."""
    return render_template("auth/campaigns.html", rows=teams.user_campaigns(current_user.id),
                           form=CampaignForm(formdata=None))


@bp.get("/campaigns/new")
@bp.post("/campaigns/new")
@login_required
def new_campaign():
    """Start another campaign, owned by the current user."""
    form = CampaignForm()
    if form.validate_on_submit():
        campaign = teams.create_campaign(current_user._get_current_object(), form.name.data)
        flash(_("Campaign %(campaign)s created. Invite your team here.", campaign=campaign.name), "success")
        return redirect(url_for("auth.team", campaign_id=campaign.id))
    return render_template("auth/new_campaign.html", form=form), 400 if form.errors else 200


@bp.get("/campaigns/<int:campaign_id>/team")
@login_required
def team(campaign_id: int):
    """Members, roles and pending invites; owners and organizers manage them here."""
    return _team_page(campaign_or_404(campaign_id))


@bp.post("/campaigns/<int:campaign_id>/name")
@login_required
def rename_campaign(campaign_id: int):
    """Rename the campaign (owners)."""
    campaign = campaign_or_404(campaign_id, ROLE_OWNER)
    form = CampaignForm()
    if not form.validate_on_submit():
        return _team_page(campaign, rename_form=form, status=400)
    teams.rename_campaign(campaign, form.name.data)
    flash(_("Campaign renamed."), "success")
    return redirect(url_for("auth.team", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/settings")
@login_required
def campaign_settings(campaign_id: int):
    """The contact address supporters' replies go to, and their default language (owners)."""
    campaign = campaign_or_404(campaign_id, ROLE_OWNER)
    form = CampaignSettingsForm()
    if not form.validate_on_submit():
        return _team_page(campaign, settings_form=form, status=400)
    teams.update_settings(campaign, form.contact_email.data or "", form.default_locale.data)
    flash(_("Campaign settings saved."), "success")
    return redirect(url_for("auth.team", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/invites")
@login_required
def create_invite(campaign_id: int):
    """Make an invite link (shown once, to copy) and optionally email it (organizers and owners)."""
    campaign = campaign_or_404(campaign_id, ROLE_ORGANIZER)
    form = InviteForm()
    if not form.validate_on_submit():
        return _team_page(campaign, invite_form=form, status=400)
    days = current_app.config["INVITE_MAX_AGE_DAYS"]
    made = teams.invite_to_team(campaign, form.role.data, current_user._get_current_object(),
                                email=form.email.data or "", send_email=bool(form.send_email.data), max_age_days=days)
    if made.emailed:
        flash(_("Invite created and emailed to %(email)s. The link works once and expires in %(days)s days.",
                email=made.invite.email, days=days), "success")
    else:
        flash(_("Invite created. The link works once and expires in %(days)s days.", days=days), "success")
    # Rendered, not redirected: the secret exists only now and is never stored.
    return _team_page(campaign, new_link=made.link, status=201)


@bp.post("/campaigns/<int:campaign_id>/invites/<int:invite_id>/revoke")
@login_required
def revoke_invite(campaign_id: int, invite_id: int):
    """Cancel a pending invite so its link stops working (organizers and owners)."""
    campaign = campaign_or_404(campaign_id, ROLE_ORGANIZER)
    try:
        teams.revoke_invite(campaign.id, invite_id)
    except teams.NotFound:
        abort(404)
    flash(_("Invite revoked; its link no longer works."), "success")
    return redirect(url_for("auth.team", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/members/<int:membership_id>/role")
@login_required
def change_role(campaign_id: int, membership_id: int):
    """Give a member another role (owners only; a campaign keeps at least one owner)."""
    campaign = campaign_or_404(campaign_id, ROLE_OWNER)
    form = RoleForm()
    if not form.validate_on_submit():
        flash(_("Choose owner, organizer or viewer."), "error")
        return _team_page(campaign, status=400)
    try:
        membership = teams.change_role(campaign.id, membership_id, form.role.data)
    except teams.NotFound:
        abort(404)
    except teams.TeamError as exc:
        flash(str(exc), "error")
        return _team_page(campaign, status=409)
    flash(_("%(person)s is now %(role)s.", person=membership.user.name or membership.user.email, role=form.role.data),
          "success")
    return redirect(url_for("auth.team", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/members/<int:membership_id>/remove")
@login_required
def remove_member(campaign_id: int, membership_id: int):
    """Take someone off the team (owners only; never the last owner)."""
    campaign = campaign_or_404(campaign_id, ROLE_OWNER)
    try:
        user = teams.remove_member(campaign.id, membership_id)
    except teams.NotFound:
        abort(404)
    except teams.TeamError as exc:
        flash(str(exc), "error")
        return _team_page(campaign, status=409)
    flash(_("%(person)s was removed from the team.", person=user.name or user.email), "success")
    if user.id == current_user.id:
        return redirect(url_for("auth.campaigns"))
    return redirect(url_for("auth.team", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/leave")
@login_required
def leave_campaign(campaign_id: int):
    """Leave a campaign's team (any member except its last owner)."""
    campaign = campaign_or_404(campaign_id, ROLE_VIEWER)
    try:
        teams.leave_campaign(campaign.id, current_user.id)
    except teams.TeamError as exc:
        flash(str(exc), "error")
        return _team_page(campaign, status=409)
    flash(_("You left %(campaign)s.", campaign=campaign.name), "success")
    return redirect(url_for("auth.campaigns"))


@bp.get("/invite/<token>")
@bp.post("/invite/<token>")
def invite(token: str):
    """An invite link: shows what it is for; a logged-in user accepts it with a POST."""
    try:
        found = teams.find_invite(token)
    except teams.InviteInvalid as exc:
        return render_template("auth/invite.html", invite=None, problem=str(exc), token=token), 410
    # Only the invite's own address, still unconfirmed, is asked to confirm (others are refused on POST).
    needs_verification = bool(current_user.is_authenticated and found.email and found.email == current_user.email
                              and current_user.email_verified_at is None)
    if request.method == "GET" or not current_user.is_authenticated:
        if request.method == "POST":
            flash(_("Log in or create an account to accept the invite."), "info")
        return render_template("auth/invite.html", invite=found, problem=None, token=token,
                               needs_verification=needs_verification)
    try:
        membership = teams.join_campaign(token, current_user._get_current_object())
    except teams.EmailNotVerified as exc:
        return render_template("auth/invite.html", invite=found, problem=str(exc), token=token,
                               needs_verification=True), 403
    except teams.InviteInvalid as exc:
        return render_template("auth/invite.html", invite=found, problem=str(exc), token=token), 409
    flash(_("You joined %(campaign)s as %(role)s.", campaign=found.campaign.name, role=membership.role), "success")
    return redirect(url_for("auth.team", campaign_id=membership.campaign_id))
