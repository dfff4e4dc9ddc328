"""Blueprint ``tickets`` at ``/t/<token>``: a supporter's secret ticket page, its QR image and calendar
file, and the changes its owner can make (party size, confirm, cancel, reminder answers)."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from flask import Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale, gettext, ngettext
from flask_login import current_user

from ..dates import local_time
from ..i18n import use_campaign_locale
from ..mail import calendar
from ..mail.links import base_domain
from ..messaging.optout import preferences_url
from ..models import RSVP_CANCELLED, RSVP_GOING, RSVP_UNCONFIRMED, Rally
from . import lookups, rsvps, tickets
from .blueprint import tickets_bp as bp
from .forms import ConfirmForm, GuestsForm
from .notices import answer_signature_ok, rally_page_url


def flash_outcome(result: rsvps.RsvpResult) -> None:
    """Tell a supporter where a new or renewed RSVP stands."""
    if result.outcome == "going":
        flash(gettext("You're going! Your ticket is below, and we've emailed it to you."), "success")
    elif result.outcome == "waitlisted":
        flash(gettext("The rally is full, so you're on the waitlist. We'll email you if a place opens up."), "info")
    if result.note:
        flash(result.note, "warning")


def _rsvp_or_404(token: str):
    rsvp = lookups.rsvp_by_token(token)
    if rsvp is None:
        abort(404)
    use_campaign_locale(rsvp.rally)
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
_TICKET_TEMPLATES = ("tickets/ticket.html", "base.html")


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
        # The page's language: the same ticket reads differently in Spanish (and the rally's own translations).
        str(get_locale()), rally.translations,
        # token_hash stands for the token in the page's links; public_key for the code and its QR.
        (rsvp.id, rsvp.token_hash, rsvp.name, rsvp.guests, rsvp.status, position, closed),
        (rally.id, rally.slug, rally.title, rally.status, rally.visibility, rally.cancel_message, rally.venue_name,
         rally.address, rally.city, rally.state, rally.postal_code, rally.accessibility_notes, rally.lat, rally.lon,
         rally.timezone, rally.starts_at, rally.doors_open_at, rally.public_key),
    )
    return hashlib.sha256(repr(shown).encode()).hexdigest()[:32]


@bp.get("")
def page(token: str):
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
        "tickets/ticket.html", rsvp=rsvp, token=token, rally=rally, code=code, position=position, closed=closed,
        when=local_time(rally.starts_at, rally.timezone),
        doors=local_time(rally.doors_open_at, rally.timezone) if rally.doors_open_at else "",
        venue_map=_map_for(rally),
        preferences=preferences_url(rsvp.supporter_id) if rsvp.supporter_id else None,
    ))
    return response


@bp.get("/qr.png")
def qr(token: str):
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


@bp.get("/rally.ics")
def ics(token: str):
    """The rally as an iCalendar file."""
    rsvp = _rsvp_or_404(token)
    # The public rally page, never this ticket's URL: calendar events get shared and synced.
    body = calendar.rally_ics(rsvp.rally, uid_domain=base_domain(), url=rally_page_url(rsvp.rally))
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": 'attachment; filename="rally.ics"', "Cache-Control": "private, no-cache",
    })


@bp.get("/guests")
@bp.post("/guests")
def guests(token: str):
    """Change the party size."""
    rsvp = _rsvp_or_404(token)
    form = GuestsForm(rally=rsvp.rally, data={"guests": rsvp.guests} if request.method == "GET" else None)
    if rsvp.status in (RSVP_CANCELLED, RSVP_UNCONFIRMED):
        flash(gettext("This RSVP is cancelled, so its party size cannot change.") if rsvp.status == RSVP_CANCELLED
              else gettext("This RSVP is not confirmed yet, so its party size cannot change."), "warning")
        return redirect(url_for(".page", token=token), 303)
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                rsvps.change_guests(rsvp, form.guests.data)
            except rsvps.RsvpError as exc:
                form.guests.errors.append(str(exc))
            else:
                party = form.guests.data + 1
                flash(ngettext("Done: your party is now %(num)d person.", "Done: your party is now %(num)d people.",
                               party), "success")
                return redirect(url_for(".page", token=token), 303)
        status = 422
    return render_template("tickets/guests.html", rsvp=rsvp, token=token, rally=rsvp.rally, form=form), status


def _one_button(token: str, template: str, act) -> Response | str:
    """A page with one confirm button (GET), then ``act(rsvp)`` and back to the ticket (POST).

    A link prefetcher's GET changes nothing; an RsvpError from the act is flashed.
    """
    rsvp = _rsvp_or_404(token)
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        try:
            act(rsvp)
        except rsvps.RsvpError as exc:
            flash(str(exc), "warning")
        return redirect(url_for(".page", token=token), 303)
    return render_template(template, rsvp=rsvp, token=token, rally=rsvp.rally, form=form)


@bp.get("/confirm")
@bp.post("/confirm")
def confirm(token: str):
    """Confirm an unconfirmed RSVP, or RSVP again after cancelling: a button (GET), then the capacity decision (POST)."""

    def take(rsvp):
        was = rsvp.status
        rsvp = rsvps.take_place(rsvp, locale=str(get_locale() or ""))
        if was in (RSVP_CANCELLED, RSVP_UNCONFIRMED):
            flash_outcome(rsvps.RsvpResult(rsvp.id, rsvp.status))

    return _one_button(token, "tickets/confirm.html", take)


@bp.get("/cancel")
@bp.post("/cancel")
def cancel(token: str):
    """Ask for confirmation (GET), then cancel (POST)."""

    def cancel_it(rsvp):
        if rsvps.cancel_rsvp(rsvp):
            flash(gettext("Your RSVP is cancelled. Thank you for letting us know."), "success")

    return _one_button(token, "tickets/cancel.html", cancel_it)


@bp.get("/answer/<answer>")
@bp.post("/answer/<answer>")
def answer(token: str, answer: str):
    """One-click reminder answer: GET shows a confirm button (link prefetchers change nothing), POST records it."""
    rsvp = _rsvp_or_404(token)
    if answer not in ("yes", "no") or not answer_signature_ok(rsvp, answer, request.args.get("sig", "")):
        abort(404)
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        if rsvp.status == RSVP_CANCELLED and answer == "yes":
            flash(gettext("This RSVP was cancelled earlier. You can RSVP again from the rally page."), "warning")
        else:
            try:
                rsvps.record_reminder_answer(rsvp, answer)
            except rsvps.RsvpError as exc:
                flash(str(exc), "warning")
            else:
                flash(gettext("Thanks, see you there!") if answer == "yes" else gettext(
                    "Thanks for letting us know; your place goes to someone on the waitlist."), "success")
        return redirect(url_for(".page", token=token), 303)
    return render_template("tickets/answer.html", rsvp=rsvp, token=token, rally=rsvp.rally, form=form, answer=answer,
                           sig=request.args.get("sig", ""))
