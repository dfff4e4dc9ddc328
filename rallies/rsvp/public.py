"""Blueprint ``rsvp`` at ``/r/<slug>/rsvp``: a rally's RSVP form, and the pages after it that show no ticket."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address

from ..extensions import limiter
from ..i18n import use_campaign_locale
from ..mail.addresses import canonical_email
from ..sms.consent import SmsConsent
from . import lookups, rsvps
from .blueprint import bp
from .forms import RsvpForm, strip_controls
from .ticket_pages import flash_outcome


def _rally_by_slug(slug: str):
    rally = lookups.rally_for_rsvp(slug)
    if rally is None or not rally.is_public:
        abort(404)
    use_campaign_locale(rally)
    return rally


def _rsvp_ip_limit() -> str:
    return current_app.config["RATELIMIT_RSVP_IP"]


def _rsvp_email_limit() -> str:
    return current_app.config["RATELIMIT_RSVP_EMAIL"]


def _rsvp_rally_ip_limit() -> str:
    return current_app.config["RATELIMIT_RSVP_RALLY_IP"]


def _posted_email_key() -> str:
    """Rate-limit key: the posted mailbox (so one mailbox cannot be hammered from many IPs or spellings)."""
    return "rsvp-email:" + (canonical_email(request.form.get("email")) or "-")


def _rally_ip_key() -> str:
    """Rate-limit key: this rally and the client's address (one address cannot fill one rally)."""
    return f"rsvp-rally-ip:{(request.view_args or {}).get('slug', '')}:{get_remote_address()}"


def _accepted(response) -> bool:
    """Only RSVPs the form accepted count against the per-rally cap (typos cost nothing)."""
    return response.status_code == 303


def _utm_from_query(form: RsvpForm) -> None:
    for name in ("utm_source", "utm_medium", "utm_campaign", "ref"):
        if not getattr(form, name).data:
            getattr(form, name).data = strip_controls(request.args.get(name))[:100]


@bp.get("")
@bp.post("")
@limiter.limit(_rsvp_ip_limit, methods=["POST"])
@limiter.limit(_rsvp_email_limit, key_func=_posted_email_key, methods=["POST"])
@limiter.limit(_rsvp_rally_ip_limit, key_func=_rally_ip_key, methods=["POST"], deduct_when=_accepted)
def rsvp_page(slug: str):
    """The standalone RSVP page (works without JavaScript); the rally page's form posts here too."""
    rally = _rally_by_slug(slug)
    form = RsvpForm(rally=rally)
    _utm_from_query(form)
    closed = rsvps.rally_open_problem(rally)
    if request.method == "POST":
        if closed:
            form.form_errors.append(closed)
            return render_template("rsvp/form.html", rally=rally, form=form, closed=closed), 409
        if form.validate():
            if form.is_bot:
                # Look like success to the bot; store nothing.
                return redirect(url_for(".thanks", slug=rally.slug), 303)
            data = rsvps.RsvpInput(
                name=form.name.data, email=form.email.data, phone=form.phone.data or "",
                postal_code=form.postal_code.data or "", guests=form.guests.data or 0,
                opt_in=bool(form.opt_in.data), utm=form.utm(), ref=strip_controls(form.ref.data).strip(),
                locale=str(get_locale() or ""),
                sms_consent=SmsConsent(form.sms_consent_text, request.remote_addr or "") if form.sms_opt_in.data else None,
            )
            try:
                result = rsvps.create_or_update_rsvp(rally, data)
            except rsvps.RsvpError as exc:
                form.form_errors.append(str(exc))
            else:
                if result.outcome in ("repeat", "unconfirmed"):
                    # Nothing of an existing RSVP is shown: its owner gets the link by email. On a
                    # confirm-by-email rally a new RSVP and a repeat get the very same answer.
                    what = "unconfirmed" if rally.confirm_by_email else result.outcome
                    return redirect(url_for(".sent", slug=rally.slug, what=what), 303)
                flash_outcome(result)
                return redirect(url_for("tickets.page", token=result.token), 303)
        return render_template("rsvp/form.html", rally=rally, form=form, closed=closed), 422
    return render_template("rsvp/form.html", rally=rally, form=form, closed=closed)


#: What the page after a repeat or a confirm-by-email RSVP says. On a confirm-by-email rally both
#: outcomes read the same, so a stranger learns nothing about who is on its list.
SENT_MESSAGES = {
    "repeat": _l("You're already on the list. We've emailed your ticket link again."),
    "unconfirmed": _l("Check your email: we've sent you a link to confirm your place. "
                      "Your place is held only once you confirm."),
}


@bp.get("/sent")
def sent(slug: str):
    """After an RSVP whose ticket goes by email only: say so, and show nothing of the RSVP."""
    rally = _rally_by_slug(slug)
    what = request.args.get("what", "")
    return render_template("rsvp/sent.html", rally=rally, message=SENT_MESSAGES.get(what, SENT_MESSAGES["repeat"]))


@bp.get("/thanks")
def thanks(slug: str):
    """Where the honeypot sends bots (and nothing was stored)."""
    rally = _rally_by_slug(slug)
    return render_template("rsvp/thanks.html", rally=rally)
