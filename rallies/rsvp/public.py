"""Supporter views: the RSVP form, the ticket page, its QR image and calendar file, changes and cancel."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for

from .. import pagecache
from ..extensions import limiter
from ..forms.rsvp import ConfirmForm, GuestsForm, RsvpForm, strip_controls
from ..models import RSVP_CANCELLED, RSVP_GOING, Rally
from ..services import calendar, rsvps, tickets
from ..services.emails import normalise_email
from ..services.links import base_domain, external_url
from ..services.notices import answer_signature_ok, local_time
from . import bp


def _rally_by_slug(slug: str):
    rally = rsvps.rally_for_rsvp(slug)
    if rally is None or not rally.is_public:
        abort(404)
    return rally


def _rsvp_ip_limit() -> str:
    return current_app.config["RATELIMIT_RSVP_IP"]


def _rsvp_email_limit() -> str:
    return current_app.config["RATELIMIT_RSVP_EMAIL"]


def _posted_email_key() -> str:
    """Rate-limit key: the normalised posted email (so one address cannot be hammered from many IPs)."""
    return "rsvp-email:" + (normalise_email(request.form.get("email")) or "-")


def _utm_from_query(form: RsvpForm) -> None:
    for name in ("utm_source", "utm_medium", "utm_campaign", "ref"):
        if not getattr(form, name).data:
            getattr(form, name).data = strip_controls(request.args.get(name))[:100]


@bp.route("/r/<slug>/rsvp", methods=["GET", "POST"])
@limiter.limit(_rsvp_ip_limit, methods=["POST"])
@limiter.limit(_rsvp_email_limit, key_func=_posted_email_key, methods=["POST"])
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
                _flash_outcome(result)
                return redirect(url_for(".ticket", token=result.token), 303)
        return render_template("rsvp/form.html", rally=rally, form=form, closed=closed), 422
    return render_template("rsvp/form.html", rally=rally, form=form, closed=closed)


def _flash_outcome(result: rsvps.RsvpResult) -> None:
    if result.outcome == "going":
        flash("You're going! Your ticket is below, and we've emailed it to you.", "success")
    elif result.outcome == "waitlisted":
        flash("The rally is full, so you're on the waitlist. We'll email you if a place opens up.", "info")
    elif result.outcome == "rejoined":
        flash("You had cancelled before; your RSVP is active again. We've emailed your ticket.", "success")
    else:
        flash(f"You'd already RSVPed with {result.email}, so we updated that RSVP instead of making a new one, "
              "and emailed your ticket again.", "info")
    if result.note:
        flash(result.note, "warning")


@bp.route("/r/<slug>/rsvp/thanks")
def thanks(slug: str):
    """Where the honeypot sends bots (and nothing was stored)."""
    rally = _rally_by_slug(slug)
    return render_template("rsvp/thanks.html", rally=rally)


def _rsvp_or_404(token: str):
    rsvp = rsvps.rsvp_by_token(token)
    if rsvp is None:
        abort(404)
    return rsvp


@lru_cache(maxsize=256)
def _venue_map(lat: float, lon: float, title: str, venue: str):
    """The venue map's parts, cached per place (folium rendering is slow and the map never changes)."""
    from ..services import maps

    m = maps.new_map((lat, lon), zoom=15)
    maps.add_marker(m, (lat, lon), tooltip=venue or title, popup=title)
    return maps.map_parts(m)


def _map_for(rally: Rally):
    if rally.lat is None or rally.lon is None:
        return None
    try:
        return _venue_map(rally.lat, rally.lon, rally.title, rally.venue_name)
    except Exception:  # noqa: BLE001  the ticket must render even if the map cannot
        current_app.logger.exception("venue map failed for rally %s", rally.id)
        return None


@bp.route("/t/<token>")
def ticket(token: str):
    """The secret ticket page: rally, time, venue and map, party, status, QR, changes and cancel."""
    rsvp = rsvps.ticket_view(token)
    if rsvp is None:
        abort(404)
    rally = rsvp.rally
    position = rsvps.waitlist_position(rsvp)
    closed = rsvps.rally_open_problem(rally)

    def context():
        code = (tickets.code_for(rally.id, rally.signing_key, rsvp.id)
                if rsvp.status == RSVP_GOING and rally.signing_key else None)
        return dict(
            rsvp=rsvp, token=token, rally=rally, code=code, qr_svg=tickets.qr_svg(code) if code else None, position=position,
            when=local_time(rally.starts_at, rally.timezone),
            doors=local_time(rally.doors_open_at, rally.timezone) if rally.doors_open_at else "",
            venue_map=_map_for(rally), closed=closed,
        )

    # The row, waitlist place and open/closed state are all the page shows (see rallies/pagecache.py);
    # the row's token_hash stands for the token in the page's links.
    html = pagecache.render("rsvp/ticket.html", (rsvp.row, position, closed), context)
    return html, 200, {"Cache-Control": "private, no-cache"}


@bp.route("/t/<token>/qr.png")
def ticket_qr(token: str):
    """The ticket's QR code as PNG: it never changes, so a strong ETag and a year of caching."""
    facts = rsvps.qr_facts(token)
    if facts is None:
        abort(404)
    rsvp_id, status, rally_id, signing_key = facts
    if status != RSVP_GOING or not signing_key:
        abort(404)
    code = tickets.code_for(rally_id, signing_key, rsvp_id)
    etag = _etag(code)
    headers = {"ETag": f'"{etag}"', "Cache-Control": "public, max-age=31536000, immutable"}
    if request.if_none_match.contains(etag):
        return Response(status=304, headers=headers)
    return Response(tickets.qr_png(code), mimetype="image/png", headers=headers)


@lru_cache(maxsize=4096)
def _etag(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()[:32]


@bp.route("/t/<token>/rally.ics")
def ticket_ics(token: str):
    """The rally as an iCalendar file."""
    rsvp = _rsvp_or_404(token)
    body = calendar.rally_ics(rsvp.rally, uid_domain=base_domain(), url=external_url("rsvp.ticket", token=token))
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": 'attachment; filename="rally.ics"', "Cache-Control": "private, no-cache",
    })


@bp.route("/t/<token>/guests", methods=["GET", "POST"])
def guests(token: str):
    """Change the party size."""
    rsvp = _rsvp_or_404(token)
    form = GuestsForm(rally=rsvp.rally, data={"guests": rsvp.guests} if request.method == "GET" else None)
    if rsvp.status == RSVP_CANCELLED:
        flash("This RSVP is cancelled, so its party size cannot change.", "warning")
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


@bp.route("/t/<token>/cancel", methods=["GET", "POST"])
def cancel(token: str):
    """Ask for confirmation (GET), then cancel (POST)."""
    rsvp = _rsvp_or_404(token)
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        if rsvps.cancel_rsvp(rsvp):
            flash("Your RSVP is cancelled. Thank you for letting us know.", "success")
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
            rsvps.record_reminder_answer(rsvp, answer)
            flash("Thanks, see you there!" if answer == "yes" else "Thanks for letting us know; your place "
                  "goes to someone on the waitlist.", "success")
        return redirect(url_for(".ticket", token=token), 303)
    return render_template("rsvp/answer.html", rsvp=rsvp, token=token, rally=rsvp.rally, form=form, answer=answer,
                           sig=request.args.get("sig", ""))
