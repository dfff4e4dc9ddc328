"""Supporter views: the RSVP form, the ticket page, its QR image and calendar file, changes and cancel."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from flask import Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user

from ..extensions import limiter
from ..mail import calendar
from ..mail.addresses import canonical_email
from ..mail.links import base_domain
from ..models import RSVP_CANCELLED, RSVP_GOING, RSVP_UNCONFIRMED, Rally
from . import lookups, rsvps, tickets
from .blueprint import bp
from .forms import ConfirmForm, GuestsForm, RsvpForm, strip_controls
from .notices import answer_signature_ok, local_time, rally_page_url


def _rally_by_slug(slug: str):
    rally = lookups.rally_for_rsvp(slug)
    if rally is None or not rally.is_public:
        abort(404)
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


@bp.route("/r/<slug>/rsvp", methods=["GET", "POST"])
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
                _flash_outcome(result)
                return redirect(url_for(".ticket", token=result.token), 303)
        return render_template("rsvp/form.html", rally=rally, form=form, closed=closed), 422
    return render_template("rsvp/form.html", rally=rally, form=form, closed=closed)


def _flash_outcome(result: rsvps.RsvpResult) -> None:
    if result.outcome == "going":
        flash("You're going! Your ticket is below, and we've emailed it to you.", "success")
    elif result.outcome == "waitlisted":
        flash("The rally is full, so you're on the waitlist. We'll email you if a place opens up.", "info")
    if result.note:
        flash(result.note, "warning")


#: What the page after a repeat or a confirm-by-email RSVP says. On a confirm-by-email rally both
#: outcomes read the same, so a stranger learns nothing about who is on its list.
SENT_MESSAGES = {
    "repeat": "You're already on the list. We've emailed your ticket link again.",
    "unconfirmed": "Check your email: we've sent you a link to confirm your place. "
                   "Your place is held only once you confirm.",
}


@bp.route("/r/<slug>/rsvp/sent")
def sent(slug: str):
    """After an RSVP whose ticket goes by email only: say so, and show nothing of the RSVP."""
    rally = _rally_by_slug(slug)
    what = request.args.get("what", "")
    return render_template("rsvp/sent.html", rally=rally, message=SENT_MESSAGES.get(what, SENT_MESSAGES["repeat"]))


@bp.route("/r/<slug>/rsvp/thanks")
def thanks(slug: str):
    """Where the honeypot sends bots (and nothing was stored)."""
    rally = _rally_by_slug(slug)
    return render_template("rsvp/thanks.html", rally=rally)


def _rsvp_or_404(token: str):
    rsvp = lookups.rsvp_by_token(token)
    if rsvp is None:
        abort(404)
    return rsvp


@lru_cache(maxsize=256)
def _venue_map(lat: float, lon: float, title: str, venue: str):
    """The venue map's parts, cached per place (folium rendering is slow and the map never changes)."""
    from ..geo import folium_maps

    m = folium_maps.new_map((lat, lon), zoom=15)
    folium_maps.add_marker(m, (lat, lon), tooltip=venue or title, popup=title)
    return folium_maps.map_parts(m)


def _map_for(rally: Rally):
    if rally.lat is None or rally.lon is None:
        return None
    try:
        return _venue_map(rally.lat, rally.lon, rally.title, rally.venue_name)
    except Exception:  # noqa: BLE001  the ticket must render even if the map cannot
        current_app.logger.exception("venue map failed for rally %s", rally.id)
        return None


#: Templates whose source shapes the ticket page: a deploy that edits them changes every ETag.
_TICKET_TEMPLATES = ("rsvp/ticket.html", "base.html")


def _ticket_etag(rsvp, position: int | None, closed: str | None) -> str | None:
    """A strong validator of the ticket page: a hash of everything it shows, or None when it is personal.

    A logged-in visitor's page carries a CSRF token and a flashed message shows once, so those
    pages get no ETag. The same values render the same page on any worker or host.
    """
    if current_user.is_authenticated or "_flashes" in session:
        return None
    rally = rsvp.rally
    env = current_app.jinja_env
    shown = (
        [env.loader.get_source(env, name)[0] for name in _TICKET_TEMPLATES],
        current_app.config.get("MAP_TILES_URL"), current_app.config.get("MAP_TILES_ATTRIBUTION"),
        # token_hash stands for the token in the page's links; public_key for the code and its QR.
        (rsvp.id, rsvp.token_hash, rsvp.name, rsvp.guests, rsvp.status, position, closed),
        (rally.id, rally.slug, rally.title, rally.status, rally.visibility, rally.cancel_message, rally.venue_name,
         rally.address, rally.city, rally.state, rally.postal_code, rally.accessibility_notes, rally.lat, rally.lon,
         rally.timezone, rally.starts_at, rally.doors_open_at, rally.public_key),
    )
    return hashlib.sha256(repr(shown).encode()).hexdigest()[:32]


@bp.get("/t/<token>")
def ticket(token: str):
    """The secret ticket page: rally, time, venue and map, party, status, QR, changes and cancel.

    Answered 304 when the browser's copy (If-None-Match) is still what the page would show.
    """
    rsvp = _rsvp_or_404(token)
    rally = rsvp.rally
    position = lookups.waitlist_position(rsvp)
    closed = rsvps.rally_open_problem(rally)
    etag = _ticket_etag(rsvp, position, closed)
    response = Response(headers={"Cache-Control": "private, no-cache"})
    if etag:
        response.set_etag(etag)
        if request.if_none_match.contains(etag):
            response.status_code = 304
            return response
    code = tickets.ticket_code(rally, rsvp.id) if rsvp.status == RSVP_GOING and rally.signing_key else None
    response.set_data(render_template(
        "rsvp/ticket.html", rsvp=rsvp, token=token, rally=rally, code=code, position=position, closed=closed,
        when=local_time(rally.starts_at, rally.timezone),
        doors=local_time(rally.doors_open_at, rally.timezone) if rally.doors_open_at else "",
        venue_map=_map_for(rally),
    ))
    return response


@bp.get("/t/<token>/qr.png")
def ticket_qr(token: str):
    """The ticket's QR code as PNG: it never changes, so a strong ETag and a year of caching."""
    ticket = lookups.ticket_image_facts(token)
    if ticket is None or ticket.status != RSVP_GOING or not ticket.signing_key:
        abort(404)
    code = tickets.code_for(ticket.rally_id, ticket.signing_key, ticket.id)
    response = Response(mimetype="image/png", headers={"Cache-Control": "public, max-age=31536000, immutable"})
    etag = hashlib.sha256(code.encode()).hexdigest()[:32]
    response.set_etag(etag)
    if request.if_none_match.contains(etag):
        response.status_code = 304
        return response
    response.set_data(tickets.stored_or_drawn_png(ticket.id, ticket.rally_id, ticket.signing_key, ticket.png_sealed,
                                                  code))
    return response


@bp.route("/t/<token>/rally.ics")
def ticket_ics(token: str):
    """The rally as an iCalendar file."""
    rsvp = _rsvp_or_404(token)
    # The public rally page, never this ticket's URL: calendar events get shared and synced.
    body = calendar.rally_ics(rsvp.rally, uid_domain=base_domain(), url=rally_page_url(rsvp.rally))
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": 'attachment; filename="rally.ics"', "Cache-Control": "private, no-cache",
    })


@bp.route("/t/<token>/guests", methods=["GET", "POST"])
def guests(token: str):
    """Change the party size."""
    rsvp = _rsvp_or_404(token)
    form = GuestsForm(rally=rsvp.rally, data={"guests": rsvp.guests} if request.method == "GET" else None)
    if rsvp.status in (RSVP_CANCELLED, RSVP_UNCONFIRMED):
        flash(f"This RSVP is {rsvp.status}, so its party size cannot change.", "warning")
        return redirect(url_for(".ticket", token=token), 303)
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                rsvps.change_guests(rsvp, form.guests.data)
            except rsvps.RsvpError as exc:
                form.guests.errors.append(str(exc))
            else:
                flash(f"Done: your party is now {form.guests.data + 1}.", "success")
                return redirect(url_for(".ticket", token=token), 303)
        status = 422
    return render_template("rsvp/guests.html", rsvp=rsvp, token=token, rally=rsvp.rally, form=form), status


@bp.route("/t/<token>/confirm", methods=["GET", "POST"])
def confirm(token: str):
    """Confirm an unconfirmed RSVP, or RSVP again after cancelling: a button (GET), then the capacity decision (POST)."""
    rsvp = _rsvp_or_404(token)
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        was = rsvp.status
        try:
            rsvp = rsvps.take_place(rsvp)
        except rsvps.RsvpError as exc:
            flash(str(exc), "warning")
        else:
            if was in (RSVP_CANCELLED, RSVP_UNCONFIRMED):
                _flash_outcome(rsvps.RsvpResult(rsvp.id, rsvp.status))
        return redirect(url_for(".ticket", token=token), 303)
    return render_template("rsvp/confirm.html", rsvp=rsvp, token=token, rally=rsvp.rally, form=form)


@bp.route("/t/<token>/cancel", methods=["GET", "POST"])
def cancel(token: str):
    """Ask for confirmation (GET), then cancel (POST)."""
    rsvp = _rsvp_or_404(token)
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        try:
            if rsvps.cancel_rsvp(rsvp):
                flash("Your RSVP is cancelled. Thank you for letting us know.", "success")
        except rsvps.RsvpError as exc:
            flash(str(exc), "warning")
        return redirect(url_for(".ticket", token=token), 303)
    return render_template("rsvp/cancel.html", rsvp=rsvp, token=token, rally=rsvp.rally, form=form)


@bp.route("/t/<token>/answer/<answer>", methods=["GET", "POST"])
def answer(token: str, answer: str):
    """One-click reminder answer: GET shows a confirm button (link prefetchers change nothing), POST records it."""
    rsvp = _rsvp_or_404(token)
    if answer not in ("yes", "no") or not answer_signature_ok(rsvp, answer, request.args.get("sig", "")):
        abort(404)
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        if rsvp.status == RSVP_CANCELLED and answer == "yes":
            flash("This RSVP was cancelled earlier. You can RSVP again from the rally page.", "warning")
        else:
            try:
                rsvps.record_reminder_answer(rsvp, answer)
            except rsvps.RsvpError as exc:
                flash(str(exc), "warning")
            else:
                flash("Thanks, see you there!" if answer == "yes" else "Thanks for letting us know; your place "
                      "goes to someone on the waitlist.", "success")
        return redirect(url_for(".ticket", token=token), 303)
    return render_template("rsvp/answer.html", rsvp=rsvp, token=token, rally=rsvp.rally, form=form, answer=answer,
                           sig=request.args.get("sig", ""))
