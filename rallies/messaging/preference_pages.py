"""Blueprint ``preferences`` at ``/u``: a supporter's unsubscribe link and preferences page.

``POST /u/<token>`` is the RFC 8058 one-click target (mail providers POST
``List-Unsubscribe=One-Click`` with no cookie and no CSRF token), so it alone is CSRF-exempt; it
is idempotent and only ever turns campaign email off. A bad token is a 404 page, never a 500.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ..extensions import csrf
from . import optout
from .blueprint import preferences_bp as bp
from .forms import PreferencesForm


def _invalid():
    return render_template("preferences/invalid.html"), 404


@bp.get("/<token>")
def unsubscribe(token: str):
    """Ask before unsubscribing (a link scanner's GET changes nothing)."""
    try:
        supporter = optout.supporter_for_unsubscribe(token)
    except optout.BadToken:
        return _invalid()
    return render_template("preferences/unsubscribe.html", supporter=supporter, token=token, done=False)


@bp.post("/<token>")
@csrf.exempt
def unsubscribe_now(token: str):
    """Stop campaign email at once (the button, or a mail provider's one-click POST)."""
    try:
        supporter = optout.unsubscribe(token)
    except optout.BadToken:
        return _invalid()
    return render_template("preferences/unsubscribe.html", supporter=supporter, token=token, done=True,
                           preferences=optout.preferences_url(supporter.id))


@bp.get("/p/<token>")
@bp.post("/p/<token>")
def edit(token: str):
    """Language, campaign email and SMS on or off."""
    try:
        supporter = optout.supporter_for_preferences(token)
    except optout.BadToken:
        return _invalid()
    form = PreferencesForm(data={"locale": supporter.locale or "en",
                                 "campaign_email": supporter.email_opt_out_at is None,
                                 "sms": supporter.sms_opt_in_at is not None and supporter.sms_stopped_at is None})
    if form.validate_on_submit():
        optout.save_preferences(token, locale=form.locale.data, campaign_email=form.campaign_email.data,
                                sms=form.sms.data)
        flash(_("Your preferences are saved."), "success")
        return redirect(url_for(".edit", token=token), 303)
    return render_template("preferences/edit.html", form=form, supporter=supporter,
                           can_sms=supporter.sms_opt_in_at is not None), 422 if form.errors else 200
