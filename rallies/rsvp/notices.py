"""Supporter email: tickets, promotions, cancellations, rally changes and reminders.

Each function queues a message in the current transaction (``mail.queue_rendered``), so
the change and its email commit together; the sender renders it on its first attempt
from ``templates/emails/<name>.html`` and ``.txt`` (HTML with a plain-text part, every
link absolute, from BASE_URL), showing the RSVP as it is then.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, Signer

from ..dates import local_time
from ..extensions import db
from ..i18n import DEFAULT_LOCALE, supported
from ..keys.link_secrets import page_token
from ..mail import calendar
from ..mail.bulk import queue_per_rsvp
from ..mail.delivery import Attachment, NothingToSend, Rendered, queue_rendered, renderer
from ..mail.links import base_domain, external_url
from ..models import RSVP_GOING, RSVP_UNCONFIRMED, RSVP_WAITLISTED, Rally, Rsvp
from ..rallies.texts import text_for
from ..sms.queue import queue_rally_sms, queue_sms
from .lookups import waitlist_position
from .tickets import ticket_code, ticket_png

QR_CID = "ticket-qr"

#: Subjects by ticket reason, and by template for the other notices: translated when the sender renders
#: the message, in the supporter's language (the subject stored at queue time is only a placeholder).
SUBJECTS = {
    "going": _l("You're going: {title}"),
    "waitlisted": _l("You're on the waitlist: {title}"),
    "updated": _l("Your RSVP is updated: {title}"),
    "promoted": _l("A place opened up, you're going: {title}"),
    "resend": _l("Your ticket link: {title}"),
    "confirm": _l("Confirm your place: {title}"),
    "cancellation": _l("Your RSVP is cancelled: {title}"),
    "reminder": _l("Tomorrow: {title}"),
    "rally_changed": _l("Changed: {title}"),
    "rally_cancelled": _l("Cancelled: {title}"),
}

#: Stored in English in the queued message (the msgid) and translated when it is rendered.
CHANGE_LABELS = {
    "title": _l("Name"), "starts_at": _l("Starts"), "ends_at": _l("Ends"), "doors_open_at": _l("Doors open"),
    "venue_name": _l("Venue"), "address": _l("Address"), "city": _l("City"), "state": _l("State"),
    "postal_code": _l("ZIP code"), "country": _l("Country"), "timezone": _l("Time zone"),
    "description": _l("Details"), "accessibility_notes": _l("Accessibility"),
}
_TIME_FIELDS = ("starts_at", "ends_at", "doors_open_at")

def email_locale(rsvp: Rsvp, params: dict | None = None) -> str:
    """The language a supporter's email is written in: the one asked for when it was queued (the page the
    RSVP was made on), else the supporter's saved language, else the campaign's default, else English."""
    chosen = supported((params or {}).get("locale"))
    if chosen:
        return chosen
    supporter = rsvp.supporter
    return (supported(supporter.locale if supporter else None) or supported(rsvp.rally.campaign.default_locale)
            or DEFAULT_LOCALE)


def _subject(key: str, rally: Rally, locale: str) -> str:
    return str(SUBJECTS[key]).format(title=text_for(rally, "title", locale).text)


def _english(text) -> str:
    """A marked string's msgid (English is the source language), to store and translate later."""
    with force_locale(DEFAULT_LOCALE):
        return str(text)




def _signer() -> Signer:
    return Signer(current_app.config["SECRET_KEY"], salt="rallies.reminder-answer")


def answer_signature(rsvp: Rsvp, answer: str) -> str:
    """The signature that makes a one-click reminder link valid for this RSVP and answer only."""
    return _signer().get_signature(f"{rsvp.id}:{page_token(rsvp)}:{answer}".encode()).decode()


def answer_signature_ok(rsvp: Rsvp, answer: str, signature: str) -> bool:
    """True if the link's signature matches."""
    try:
        message = f"{rsvp.id}:{page_token(rsvp)}:{answer}".encode()
        return _signer().verify_signature(message, (signature or "").encode())
    except BadSignature:
        return False


def ticket_links(rsvp: Rsvp) -> dict[str, str]:
    """Absolute links shown in email."""
    token = page_token(rsvp)
    return {
        "ticket": external_url("tickets.page", token=token),
        "cancel": external_url("tickets.cancel", token=token),
        "guests": external_url("tickets.guests", token=token),
        "ics": external_url("tickets.ics", token=token),
        "confirm": external_url("tickets.confirm", token=token),
        "rally": rally_page_url(rsvp.rally),
        "yes": external_url("tickets.answer", token=token, answer="yes", sig=answer_signature(rsvp, "yes")),
        "no": external_url("tickets.answer", token=token, answer="no", sig=answer_signature(rsvp, "no")),
    }


def rally_page_url(rally: Rally) -> str:
    """The rally's public page: what calendar files link to (never a ticket URL, which is a secret)."""
    return external_url("rallies.show", slug=rally.slug)


def _ics(rally: Rally, method: str = "PUBLISH", attendee: str = "") -> Attachment:
    organizer = parseaddr(current_app.config.get("MAIL_FROM", ""))[1] if attendee else ""
    text = calendar.rally_ics(rally, uid_domain=base_domain(), url=rally_page_url(rally), method=method,
                              organizer=organizer or "", attendee=attendee if organizer else "")
    mimetype = "text/calendar" if method == "PUBLISH" else f"text/calendar; method={method}"
    return Attachment("rally.ics", mimetype, text.encode("utf-8"))


def _render(name: str, **context) -> tuple[str, str]:
    return render_template(f"emails/{name}.html", **context), render_template(f"emails/{name}.txt", **context)


def _context(rsvp: Rsvp, **extra) -> dict:
    rally = rsvp.rally
    return dict(
        rally=rally, rsvp=rsvp, links=ticket_links(rsvp),
        # The title in the email's language: the renderer's force_locale() when no locale is given.
        title=text_for(rally, "title", extra.pop("locale", None) or str(get_locale() or DEFAULT_LOCALE)),
        when=local_time(rally.starts_at, rally.timezone),
        doors=local_time(rally.doors_open_at, rally.timezone) if rally.doors_open_at else "",
        venue=", ".join(p for p in (rally.venue_name, rally.address, rally.city, rally.state) if p),
        position=waitlist_position(rsvp) if rsvp.status == RSVP_WAITLISTED else None,
        **extra,
    )


def email_context(rsvp: Rsvp, **extra) -> dict:
    """What every supporter email's layout shows (rally, when, venue, ticket links), for other domains' emails."""
    return _context(rsvp, **extra)


def campaign_headers(rsvp: Rsvp) -> dict:
    """Headers on everything a campaign sends its supporters: replies go to the campaign's contact address."""
    contact = rsvp.rally.campaign.contact_email
    return {"Reply-To": contact} if contact else {}


def _rsvp_for(params: dict) -> Rsvp:
    rsvp = db.session.get(Rsvp, params.get("rsvp_id"))
    if rsvp is None or not rsvp.email:
        raise NothingToSend("the RSVP or its email is gone")
    return rsvp


def ticket_email(rsvp: Rsvp, reason: str) -> None:
    """Queue the ticket email: reason is going, waitlisted, updated, promoted, resend or confirm (rendered by the sender)."""
    key = f"promoted:{rsvp.id}:{rsvp.changed_seq}" if reason == "promoted" else None
    queue_ticket_email(rsvp.id, rsvp.email, reason, rsvp.rally.title, message_key=key)
    if reason == "promoted":
        queue_sms(rsvp, "ticket", {"reason": reason}, message_key=key)


def queue_ticket_email(rsvp_id: int, to_addr: str, reason: str, title: str, *, message_key: str | None = None,
                       locale: str = "") -> None:
    """Queue the ticket email from plain values (the RSVP hot path has no ORM object); ``locale`` is the
    language of the page the supporter used ("" = their saved one)."""
    subject = _english(SUBJECTS[reason if reason in SUBJECTS else "going"]).format(title=title)
    params = {"rsvp_id": rsvp_id, "reason": reason}
    if locale:
        params["locale"] = locale
    queue_rendered("promotion" if reason == "promoted" else "confirmation", to_addr, subject, "ticket",
                   params, rsvp_id=rsvp_id, message_key=message_key)


@renderer("ticket")
def _render_ticket(params: dict) -> Rendered:
    """The ticket email: QR inline (going only), links, the .ics attached."""
    rsvp = _rsvp_for(params)
    rally = rsvp.rally
    attachments = []
    show_qr = rsvp.status == RSVP_GOING and bool(rally.signing_key)
    code = ticket_code(rally, rsvp.id) if show_qr else None
    if show_qr:
        attachments.append(Attachment("ticket-qr.png", "image/png", ticket_png(rsvp, code), QR_CID))
    reason = params.get("reason", "going")
    locale = email_locale(rsvp, params)
    with force_locale(locale):
        # The code as text too: mail apps that block images still show it, and door staff can type it.
        context = _context(rsvp, reason=reason, show_qr=show_qr, qr_cid=QR_CID, code=code, locale=locale)
        attachments.append(_ics(rally))
        html, text = _render("ticket", **context)
        subject = _subject(reason if reason in SUBJECTS else "going", rally, locale)
    return Rendered(html, text, tuple(attachments), subject=subject, language=locale, headers=campaign_headers(rsvp))


def cancellation_email(rsvp: Rsvp) -> None:
    """Queue the 'your RSVP is cancelled' email."""
    queue_rendered("cancellation", rsvp.email, f"Your RSVP is cancelled: {rsvp.rally.title}", "plain",
                   {"rsvp_id": rsvp.id, "template": "cancellation"}, rsvp_id=rsvp.id,
                   message_key=f"cancelled:{rsvp.id}:{rsvp.changed_seq}")


def reminder_email(rsvp: Rsvp) -> None:
    """Queue the day-before reminder with one-click 'still coming' / 'can't make it' links."""
    queue_rendered("reminder", rsvp.email, f"Tomorrow: {rsvp.rally.title}", "plain",
                   {"rsvp_id": rsvp.id, "template": "reminder"}, rsvp_id=rsvp.id, message_key=f"reminder:{rsvp.id}")
    queue_sms(rsvp, "reminder", message_key=f"reminder:{rsvp.id}")


@renderer("plain")
def _render_plain(params: dict) -> Rendered:
    """Cancellation, reminder and rally notices: a template, plus the rally's .ics for rally notices.

    Rally notices are written in the supporter's language (email_locale), with an iTIP calendar file:
    REQUEST for a change (same UID, the raised SEQUENCE), CANCEL for a cancellation.
    """
    rsvp = _rsvp_for(params)
    name = params["template"]
    if name not in ("cancellation", "reminder", "rally_changed", "rally_cancelled"):
        raise NothingToSend(f"unknown template {name!r}")
    locale = email_locale(rsvp, params)
    rally = rsvp.rally
    with force_locale(locale):
        rows = [change_row(field, old, new, rally) for field, old, new in params.get("changes") or []]
        html, text = _render(name, **_context(rsvp, changes=rows, locale=locale))
        subject = _subject(name, rally, locale)
    attachments = ()
    if name in ("rally_changed", "rally_cancelled"):
        method = "REQUEST" if name == "rally_changed" else "CANCEL"
        attachments = (_ics(rally, method, attendee=rsvp.email),)
    return Rendered(html, text, attachments, subject=subject, language=locale, headers=campaign_headers(rsvp))


def _audience_where(rally: Rally, statuses=(RSVP_GOING, RSVP_WAITLISTED)) -> tuple:
    return (Rsvp.rally_id == rally.id, Rsvp.status.in_(statuses))


def audience_count(rally: Rally) -> int:
    """How many going or waitlisted supporters (with an email) a change notice would reach."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Rsvp)
                             .where(*_audience_where(rally), Rsvp.email.is_not(None))) or 0


def _stored(value) -> str:
    """A changed value as stored in the message's params (times as ISO 8601, formatted when rendered)."""
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else str(value)


def change_rows(changes: dict) -> list[list[str]]:
    """[field, old, new] of what changed (changes = {field: (old, new)}), for a change notice's params."""
    return [[f, _stored(old), _stored(new)] for f, (old, new) in changes.items() if old != new]


def change_subject(rally: Rally) -> str:
    """The change notice's subject, in the current language."""
    return str(SUBJECTS["rally_changed"]).format(title=rally.title)


def change_row(field: str, old: str, new: str, rally: Rally) -> tuple[str, str, str]:
    """(label, old, new) as the supporter reads them, in the current language and the rally's zone."""
    label = str(CHANGE_LABELS.get(field, field.replace("_", " ").capitalize()))
    if field in _TIME_FIELDS:
        old, new = (local_time(datetime.fromisoformat(v), rally.timezone) if v else "" for v in (old, new))
    return label, old, new


def change_preview(rally: Rally, changes: dict) -> str:
    """The change notice's text as a supporter would read it (placeholders for the person and links)."""
    rows = [change_row(f, old, new, rally) for f, old, new in change_rows(changes)]
    placeholder = _("(their own link)")
    links = dict.fromkeys(("ticket", "cancel", "guests", "ics", "rally"), placeholder)
    person = {"name": _("Ana"), "status": RSVP_GOING}
    return render_template("emails/rally_changed.txt", rally=rally, rsvp=person, links=links, changes=rows,
                           position=None)


def rally_changed(rally: Rally, changes: dict) -> int:
    """Tell everyone going or waitlisted what changed (changes = {field: (old, new)}); call inside atomic().

    One INSERT ... SELECT keyed by the rally's ics_sequence, so repeating it (a double submit) queues
    nothing more. Returns how many messages were queued.
    """
    rows = change_rows(changes)
    if not rows:
        return 0
    queue_rally_sms(rally.id, "rally_changed", key_prefix=f"changed.{rally.id}.{rally.ics_sequence or 0}")
    return queue_per_rsvp("rally_changed", f"changed.{rally.id}.{rally.ics_sequence or 0}",
                          f"Changed: {rally.title}", "plain", {"template": "rally_changed", "changes": rows},
                          *_audience_where(rally))


def rally_cancelled(rally: Rally) -> int:
    """Tell everyone who RSVPed (going, waitlisted, unconfirmed) that the rally is cancelled, once per person
    (call inside atomic()); returns messages queued."""
    queue_rally_sms(rally.id, "rally_cancelled", key_prefix=f"cancelled.{rally.id}")
    return queue_per_rsvp("rally_cancelled", f"cancelled.{rally.id}", f"Cancelled: {rally.title}", "plain",
                          {"template": "rally_cancelled"},
                          *_audience_where(rally, (RSVP_GOING, RSVP_WAITLISTED, RSVP_UNCONFIRMED)))
