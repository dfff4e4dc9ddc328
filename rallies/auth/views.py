"""Organizer account pages: sign-up, login, logout, password reset and change, email confirmation."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import limiter
from ..routing import safe_next
from . import account_mail, accounts, teams
from .blueprint import auth_rate_limit, bp
from .forms import PASSWORD_HINT, ChangePasswordForm, ForgotPasswordForm, LoginForm, ResetPasswordForm, SignupForm


@bp.get("/signup")
@bp.post("/signup")
@auth_rate_limit
def signup():
    """Create an organizer account and their first campaign (or join the one an invite is for)."""
    if current_user.is_authenticated:
        return redirect(url_for("organize.dashboard"))
    secret = request.args.get("invite", "")
    invite = None
    if secret:
        try:
            invite = teams.find_invite(secret)
        except teams.InviteInvalid as exc:
            flash(str(exc), "error")
            secret = ""
    form = SignupForm()
    if invite is not None:
        form.joining_by_invite()
        if request.method == "GET" and invite.email:
            form.email.data = invite.email
    status = 200
    if form.validate_on_submit():
        try:
            done = accounts.sign_up(form.email.data, form.password.data, name=form.name.data,
                                    campaign_name=form.campaign_name.data or None,
                                    invite_secret=secret if invite is not None else "")
        except (teams.InviteInvalid, accounts.AccountError) as exc:
            form.email.errors.append(str(exc))
        else:
            login_user(done.user)
            if done.membership is not None:
                flash(_("Welcome! You joined %(campaign)s as %(role)s.", campaign=invite.campaign.name,
                        role=done.membership.role), "success")
                return redirect(url_for("auth.team", campaign_id=done.membership.campaign_id))
            if done.waiting:
                flash(_("Welcome! We have emailed a link to %(email)s. Open it to confirm your address and "
                        "join %(campaign)s.", email=done.user.email, campaign=invite.campaign.name), "info")
                return redirect(url_for("auth.invite", token=secret))
            flash(_("Welcome! Your account and campaign are ready. We have emailed you a link to confirm "
                    "your address."), "success")
            return redirect(url_for("organize.dashboard"))
    if form.errors:
        status = 400
    return render_template("auth/signup.html", form=form, invite=invite, secret=secret,
                           hints={"password": PASSWORD_HINT}), status


@bp.get("/login")
@bp.post("/login")
@auth_rate_limit
def login():
    """Log an organizer in."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("organize.dashboard"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("That email and password do not match an account."))
        else:
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")) or url_for("organize.dashboard"))
    if form.errors:
        status = 400
    return render_template("auth/login.html", form=form, next=safe_next(request.args.get("next"))), status


@bp.post("/logout")
@login_required
def logout():
    """Log out (POST, so a link elsewhere cannot do it); every copy of this user's cookies dies too."""
    accounts.log_out(current_user._get_current_object())
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("rallies.index"))


@bp.get("/forgot")
@bp.post("/forgot")
@auth_rate_limit
def forgot_password():
    """Email a reset link; the answer is the same whether or not the account exists."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        flash(_("If an account uses that email, we have sent it a link to choose a new password. "
                "Check your inbox (and spam folder)."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form), 400 if form.errors else 200


@bp.get("/reset/<token>")
@bp.post("/reset/<token>")
@auth_rate_limit
def reset_password(token: str):
    """Choose a new password from an emailed link (works once, until it expires)."""
    try:
        user = accounts.user_for_reset_token(token)
    except accounts.ResetLinkInvalid as exc:
        flash(str(exc), "error")
        return render_template("auth/forgot_password.html", form=ForgotPasswordForm()), 410
    form = ResetPasswordForm().for_account(user.email, user.name)
    if form.validate_on_submit():
        accounts.reset_password(user, form.password.data)
        logout_user()
        flash(_("Your password is changed, and every other session is logged out. Log in with the new password."),
              "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, hints={"password": PASSWORD_HINT}), \
        400 if form.errors else 200


@bp.get("/password")
@bp.post("/password")
@login_required
def change_password():
    """Change the password while logged in; other sessions are logged out, this one stays."""
    form = ChangePasswordForm().for_account(current_user.email, current_user.name)
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            accounts.change_password(user, form.current_password.data, form.password.data)
        except accounts.WrongPassword as exc:
            form.current_password.errors.append(str(exc))
        else:
            login_user(user)  # the session id carries the new version
            flash(_("Your password is changed. Other devices have been logged out."), "success")
            return redirect(url_for("auth.campaigns"))
    return render_template("auth/change_password.html", form=form, hints={"password": PASSWORD_HINT}), \
        400 if form.errors else 200


@bp.post("/sessions/end")
@login_required
def end_other_sessions():
    """Log out every other device (this one stays logged in)."""
    user = current_user._get_current_object()
    accounts.end_sessions(user)
    login_user(user)  # the session id carries the new version
    flash(_("Your other devices are logged out."), "success")
    return redirect(url_for("auth.campaigns"))


@bp.get("/verify/<token>")
@bp.post("/verify/<token>")
@auth_rate_limit
def verify_email(token: str):
    """Confirm an email address from an emailed link: GET asks (mail scanners follow links), POST confirms."""
    try:
        found = accounts.read_verification_token(token)
        if request.method == "GET":
            return render_template("auth/verify_email.html", token=token, email=found.user.email)
        found = accounts.verify_email(token)
    except accounts.VerifyLinkInvalid as exc:
        return render_template("auth/verify_email.html", token=None, problem=str(exc)), 410
    flash(_("Thank you: %(email)s is confirmed.", email=found.user.email), "success")
    if found.invite_secret:
        try:
            membership = teams.join_campaign(found.invite_secret, found.user)
        except teams.InviteInvalid as exc:
            flash(str(exc), "error")
        else:
            flash(_("You joined %(campaign)s as %(role)s.", campaign=membership.campaign.name, role=membership.role),
                  "success")
            if current_user.is_authenticated and current_user.id == found.user.id:
                return redirect(url_for("auth.team", campaign_id=membership.campaign_id))
    if current_user.is_authenticated:
        return redirect(url_for("auth.campaigns"))
    return redirect(url_for("auth.login"))


def _resend_key() -> str:
    """Rate-limit key for resending: the account, so changing IP does not reset it."""
    user_id = getattr(current_user, "id", None)
    return f"verify-resend:{user_id}" if user_id else f"verify-resend-ip:{request.remote_addr}"


@bp.post("/verify/resend")
@login_required
@limiter.limit(lambda: current_app.config["RATELIMIT_VERIFY"], key_func=_resend_key)
@auth_rate_limit
def resend_verification():
    """Email a new confirmation link (from the account page, or from an invite waiting for it)."""
    user = current_user._get_current_object()
    secret = request.form.get("invite", "")
    back = url_for("auth.campaigns")
    if secret:
        try:
            teams.find_invite(secret)
        except teams.InviteInvalid:
            secret = ""
        else:
            back = url_for("auth.invite", token=secret)
    if user.email_verified_at is not None:
        flash(_("%(email)s is already confirmed.", email=user.email), "info")
        return redirect(back)
    accounts.send_verification(user, secret)
    flash(_("We have emailed a new link to %(email)s. It works for %(days)s days.", email=user.email,
            days=account_mail.verify_days()), "info")
    return redirect(back)

