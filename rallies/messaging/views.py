"""Blueprint ``messaging`` at ``/organize/rallies/<rally_id>/messages``: compose, preview, send and the log.

Viewers read the log and a message's page; composing, previewing and sending take an organizer.
Sending is rate-limited per campaign (RATELIMIT_MESSAGES_CAMPAIGN), counted only when a send or
schedule succeeds, and looked at only after the role check.
"""

from __future__ import annotations

from functools import wraps

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.guards import rally_or_404
from ..extensions import limiter
from ..models import ROLE_ORGANIZER
from ..rsvp.notices import email_locale
from . import compose, queueing, render, reports, segments
from .blueprint import bp
from .forms import CHANNEL_LABELS, SEGMENT_LABELS, ComposeForm, ConfirmForm


def _campaign_key() -> str:
    return f"messages-campaign:{reports.campaign_id_of((request.view_args or {}).get('rally_id', 0))}"


def _was_sent(response) -> bool:
    """Only a message sent or scheduled counts against the limit (not a refused form, not a draft)."""
    return response.status_code == 303 and request.form.get("when") != "draft"


#: One budget per campaign, shared by composing and sending a draft.
send_rate_limit = limiter.shared_limit(lambda: current_app.config["RATELIMIT_MESSAGES_CAMPAIGN"], "messages-campaign",
                                       key_func=_campaign_key, methods=["POST"], deduct_when=_was_sent)


def _organizer_first(view):
    """Pass the view its rally, for organizers only, checked before the send limit (put it above
    ``send_rate_limit``): a viewer always gets 403 (a stranger 404), never 429, and spends none of the quota."""

    @wraps(view)
    def guarded(rally_id: int, **kwargs):
        return view(rally_or_404(rally_id, ROLE_ORGANIZER), **kwargs)

    return guarded


def _message_or_404(rally, message_id: int):
    return reports.message_of(rally, message_id) or abort(404)


@bp.get("")
@login_required
def index(rally_id: int):
    """Every message of the rally: when, to whom, by which channel, its status."""
    rally = rally_or_404(rally_id)
    return render_template("messaging/index.html", rally=rally, messages=reports.rally_messages(rally),
                           segment_labels=SEGMENT_LABELS, channel_labels=CHANNEL_LABELS)


@bp.get("/new")
@bp.post("/new")
@login_required
@_organizer_first
@send_rate_limit
def new(rally):
    """Compose a message: save a draft, send now or schedule in the rally's time zone."""
    form = ComposeForm(zone=rally.timezone)
    if form.validate_on_submit():
        user = current_user._get_current_object()
        message = compose.create_message(rally, user, form.draft())
        if form.when.data == "now":
            written = queueing.queue_message(message, user)
            flash(_("Message queued for %(n)d recipient(s).", n=written or 0), "success")
        elif form.when.data == "later":
            flash(_("Message scheduled."), "success")
        else:
            flash(_("Draft saved. Preview it, then send it."), "success")
        return redirect(url_for(".show", rally_id=rally.id, message_id=message.id), 303)
    counts = segments.counts(rally)
    segment = form.segment.data if form.segment.data in counts else "going"
    channel = form.channel.data if form.channel.data in CHANNEL_LABELS else "email"
    chosen = compose.audience(rally, segment, channel, form.sms_body.data or "", form.es_sms_body.data or "")
    return render_template("messaging/new.html", rally=rally, form=form, counts=counts, chosen=chosen,
                           segment_labels=SEGMENT_LABELS), 422 if form.errors else 200


@bp.get("/counts")
@login_required
def counts(rally_id: int):
    """JSON for the compose page: recipients of a segment per channel, and what the SMS costs."""
    rally = rally_or_404(rally_id)
    try:
        data = compose.audience(rally, request.args.get("segment", ""), request.args.get("channel", "email"),
                                request.args.get("sms", "")[:2000], request.args.get("es_sms", "")[:2000])
    except segments.UnknownSegment:
        return jsonify(error={"code": "unknown_segment", "message": _("Unknown segment or channel.")}), 400
    return jsonify(data)


@bp.get("/<int:message_id>")
@login_required
def show(rally_id: int, message_id: int):
    """A message: status, who sent it and when, delivery counts, the exact text; preview search for organizers."""
    rally = rally_or_404(rally_id)
    message = _message_or_404(rally, message_id)
    q = request.args.get("q", "")[:100]
    found = segments.find_recipients(rally, message.segment, message.channel, q) if q else []
    return render_template("messaging/show.html", rally=rally, message=message, q=q, found=found,
                           counts=reports.delivery_counts(message), form=ConfirmForm(),
                           segment_labels=SEGMENT_LABELS, channel_labels=CHANNEL_LABELS)


@bp.get("/<int:message_id>/preview/<int:rsvp_id>")
@login_required
def preview(rally_id: int, message_id: int, rsvp_id: int):
    """Exactly what one recipient gets: their name, their language; the HTML email and the SMS."""
    rally = rally_or_404(rally_id, ROLE_ORGANIZER)
    message = _message_or_404(rally, message_id)
    views = {}
    for channel in segments.channels_of(message.channel):
        rsvp = segments.recipient(rally, message.segment, channel, rsvp_id)
        if rsvp is not None:
            views[channel] = render.render_for(message, rsvp, channel)
            person, locale = rsvp, email_locale(rsvp)
    if not views:
        abort(404)
    return render_template("messaging/preview.html", rally=rally, message=message, person=person, locale=locale,
                           email=views.get("email"), sms=views.get("sms"))


@bp.post("/<int:message_id>/send")
@login_required
@_organizer_first
@send_rate_limit
def send(rally, message_id: int):
    """Send a draft or scheduled message now (a second click queues nothing)."""
    message = _message_or_404(rally, message_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    written = queueing.queue_message(message, current_user._get_current_object())
    if written is None:
        flash(_("This message was already sent or cancelled."), "info")
    else:
        flash(_("Message queued for %(n)d recipient(s).", n=written), "success")
    return redirect(url_for(".show", rally_id=rally.id, message_id=message.id), 303)


@bp.post("/<int:message_id>/cancel")
@login_required
def cancel(rally_id: int, message_id: int):
    """Cancel a draft or scheduled message."""
    rally = rally_or_404(rally_id, ROLE_ORGANIZER)
    message = _message_or_404(rally, message_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if compose.cancel_schedule(message):
        flash(_("Message cancelled."), "success")
    else:
        flash(_("This message was already sent."), "info")
    return redirect(url_for(".show", rally_id=rally.id, message_id=message.id), 303)
