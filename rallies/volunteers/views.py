"""Public volunteer pages: a rally's open shifts and the sign-up form, and each volunteer's own shift page."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from ..extensions import db, limiter
from ..i18n import use_campaign_locale
from ..models import Rally
from ..rsvp.lookups import rally_for_rsvp
from . import signups
from .blueprint import bp
from .forms import ConfirmForm, SignupForm
from .mail import shift_context
from .shifts import open_shifts


def _signup_limit() -> str:
    return current_app.config.get("RATELIMIT_VOLUNTEER", "10 per minute;30 per hour")


def _public_rally(slug: str) -> Rally:
    rally = rally_for_rsvp(slug)
    if rally is None or not rally.is_public:
        abort(404)
    use_campaign_locale(rally)
    return rally


def _page(rally: Rally, form: SignupForm, status: int = 200, chosen: int = 0):
    return render_template("volunteers/rally.html", rally=rally, shifts=open_shifts(rally.id), form=form,
                           chosen=chosen), status


@bp.get("/r/<slug>")
def rally(slug: str):
    """A rally's open shifts, times in its zone, and the sign-up form."""
    rally = _public_rally(slug)
    return _page(rally, SignupForm(formdata=None, region=rally.country))


@bp.post("/r/<slug>")
@limiter.limit(_signup_limit)
def sign_up(slug: str):
    """Take a place on a shift; the volunteer's own page and email follow."""
    rally = _public_rally(slug)
    form = SignupForm(region=rally.country)
    if not form.validate_on_submit():
        return _page(rally, form, 422, form.shift_number())
    person = signups.VolunteerInput(form.name.data, form.email.data, form.phone.data, str(get_locale() or ""))
    try:
        result = signups.sign_up(rally, form.shift_number(), person)
    except signups.SignupError as err:
        form.form_errors.append(str(err))
        return _page(rally, form, 409 if isinstance(err, signups.ShiftFull) else 422, form.shift_number())
    if result.outcome == "already":
        flash(_("You're already on this shift. We've emailed your door link again."), "info")
        return redirect(url_for("volunteers.rally", slug=rally.slug), 303)
    flash(_("You're on the shift. We've emailed you your own door link."), "success")
    return redirect(url_for("volunteers.page", token=result.token), 303)


def _signup_or_404(token: str):
    signup = signups.signup_by_token(token)
    if signup is None:
        abort(404)
    use_campaign_locale(signup.shift.rally)
    return signup


@bp.get("/s/<token>")
def page(token: str):
    """A volunteer's own shift page: when, where, and a button to cancel."""
    signup = _signup_or_404(token)
    return render_template("volunteers/page.html", token=token,
                           **shift_context(signup, str(get_locale() or "")))


@bp.get("/s/<token>/cancel")
@bp.post("/s/<token>/cancel")
def cancel(token: str):
    """Cancel a shift from the email's link (GET asks, POST cancels: mail scanners only GET)."""
    signup = _signup_or_404(token)
    form = ConfirmForm()
    if form.validate_on_submit():
        if signups.cancel_signup(signup):
            flash(_("Your shift is cancelled and your door link no longer works. Thank you for telling us."), "success")
        db.session.expire_all()
        return redirect(url_for("volunteers.page", token=token), 303)
    return render_template("volunteers/cancel.html", form=form, token=token,
                           **shift_context(signup, str(get_locale() or ""))), 422 if form.is_submitted() else 200
