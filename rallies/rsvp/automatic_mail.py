"""How the automatic messages read (automatic.py queues them): the day-of reminder with the ticket, the
thank-you and the "sorry we missed you" with the campaign's next rallies near the supporter's ZIP.

Rendered by the outbox sender in the supporter's language (notices.email_locale), from the RSVP as it
is then: a message about a rally cancelled meanwhile, a day-of reminder to someone who cancelled
meanwhile, or a campaign message to someone who opted out meanwhile, is dropped.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ..dates import local_time
from ..extensions import db
from ..geo import gazetteer, geocode
from ..mail.delivery import Attachment, NothingToSend, Rendered, renderer
from ..mail.links import external_url
from ..messaging.optout import unsubscribe_headers
from ..models import RSVP_GOING, Rally, Rsvp, utcnow
from ..models.rallies import STATUS_SCHEDULED, VISIBILITY_LISTED
from ..rallies.texts import text_for
from .notices import QR_CID, _context, _render, _rsvp_for, campaign_headers, email_locale
from .tickets import ticket_code, ticket_png

#: How many upcoming rallies a "sorry we missed you" lists.
NEXT_RALLIES = 3


def _next_rallies(rsvp: Rsvp) -> list[dict]:
    """Up to NEXT_RALLIES upcoming listed rallies of the campaign: nearest the supporter's ZIP first (within
    MISSED_YOU_RADIUS_KM), else soonest."""
    rally = rsvp.rally
    zip_code = rsvp.postal_code or (rsvp.supporter.postal_code if rsvp.supporter is not None else "")
    place = gazetteer.find_zip(zip_code) if gazetteer.zip5(zip_code or "") else None
    found = []
    if place is not None:
        km = float(current_app.config.get("MISSED_YOU_RADIUS_KM", 80))
        near = geocode.rallies_near(place.lat, place.lon, km, limit=NEXT_RALLIES, campaign_id=rally.campaign_id)
        found = [item.rally for item in near.items]
    if not found:
        found = db.session.execute(sa.select(*geocode.CARD_COLUMNS).where(
            Rally.campaign_id == rally.campaign_id, Rally.visibility == VISIBILITY_LISTED,
            Rally.status == STATUS_SCHEDULED, Rally.ends_at > utcnow()).order_by(Rally.starts_at, Rally.id)
            .limit(NEXT_RALLIES)).all()
    return [{"title": r.title, "when": local_time(r.starts_at, r.timezone), "where": ", ".join(p for p in (r.venue_name, r.city, r.state) if p),
             "url": external_url("rallies.show", slug=r.slug)} for r in found]


def _subject(name: str, title: str) -> str:
    if name == "dayof":
        return _("Today: %(title)s", title=title)
    if name == "thank_you":
        return _("Thank you for coming: %(title)s", title=title)
    return _("We missed you: %(title)s", title=title)


@renderer("automatic")
def _render_automatic(params: dict) -> Rendered:
    """The day-of reminder (QR inline, the code as text), the thank-you and the missed-you."""
    rsvp = _rsvp_for(params)
    name = params.get("template")
    if name not in ("dayof", "thank_you", "missed_you"):
        raise NothingToSend(f"unknown template {name!r}")
    if rsvp.rally.is_cancelled:
        raise NothingToSend("the rally was cancelled after this was queued")
    if name == "dayof" and rsvp.status != RSVP_GOING:
        raise NothingToSend("the RSVP is no longer going")
    if name != "dayof" and rsvp.supporter is not None and rsvp.supporter.email_opt_out_at is not None:
        raise NothingToSend("the supporter opted out of campaign messages")
    rally = rsvp.rally
    attachments = []
    extra = {}
    if name == "dayof":
        code = ticket_code(rally, rsvp.id) if rally.signing_key else None
        if code:
            attachments.append(Attachment("ticket-qr.png", "image/png", ticket_png(rsvp, code), QR_CID))
        extra = {"code": code, "qr_cid": QR_CID}
    language = email_locale(rsvp)
    with force_locale(language):
        if name == "missed_you":
            extra["next_rallies"] = _next_rallies(rsvp)
        html, text = _render(name, **_context(rsvp, locale=language, **extra))
        subject = _subject(name, text_for(rally, "title", language).text)
    headers = campaign_headers(rsvp)
    if name != "dayof" and rsvp.supporter_id:  # thank-yous and missed-yous are campaign messages
        headers.update(unsubscribe_headers(rsvp.supporter_id))
    return Rendered(html, text, tuple(attachments), subject, language, headers)
