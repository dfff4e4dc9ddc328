"""Supporter email: tickets, promotions, cancellations, rally changes and reminders.

Each function queues a message in the current transaction (``mail.queue_rendered``), so
the change and its email commit together; the sender renders it on its first attempt
from ``templates/emails/<name>.html`` and ``.txt`` (HTML with a plain-text part, every
link absolute, from BASE_URL), showing the RSVP as it is then.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app, render_template
from itsdangerous import BadSignature, Signer

from ..dates import local_time
from ..extensions import db
from ..keys.link_secrets import page_token
from ..mail import calendar
from ..mail.delivery import Attachment, NothingToSend, Rendered, queue_rendered, renderer
from ..mail.links import base_domain, external_url
from ..models import RSVP_GOING, RSVP_WAITLISTED, Rally, Rsvp
from ..sms.queue import queue_rally_sms, queue_sms
from .lookups import waitlist_position
from .tickets import ticket_code, ticket_png

QR_CID = "ticket-qr"

SUBJECTS = {
    "going": "You're going: {title}",
    "waitlisted": "You're on the waitlist: {title}",
    "updated": "Your RSVP is updated: {title}",
    "promoted": "A place opened up, you're going: {title}",
    "resend": "Your ticket link: {title}",
    "confirm": "Confirm your place: {title}",
}

CHANGE_LABELS = {
    "title": "Name", "starts_at": "Starts", "ends_at": "Ends", "doors_open_at": "Doors open",
    "venue_name": "Venue", "address": "Address", "city": "City", "state": "State", "postal_code": "ZIP code",
    "timezone": "Time zone", "description": "Details", "accessibility_notes": "Accessibility",
}




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


def _ics(rally: Rally) -> Attachment:
    text = calendar.rally_ics(rally, uid_domain=base_domain(), url=rally_page_url(rally))
    return Attachment("rally.ics", "text/calendar", text.encode("utf-8"))


def _render(name: str, **context) -> tuple[str, str]:
    return render_template(f"emails/{name}.html", **context), render_template(f"emails/{name}.txt", **context)


def _context(rsvp: Rsvp, **extra) -> dict:
    rally = rsvp.rally
    return dict(
        rally=rally, rsvp=rsvp, links=ticket_links(rsvp),
        when=local_time(rally.starts_at, rally.timezone),
        doors=local_time(rally.doors_open_at, rally.timezone) if rally.doors_open_at else "",
        venue=", ".join(p for p in (rally.venue_name, rally.address, rally.city, rally.state) if p),
        position=waitlist_position(rsvp) if rsvp.status == RSVP_WAITLISTED else None,
        **extra,
    )


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


def queue_ticket_email(rsvp_id: int, to_addr: str, reason: str, title: str, *, message_key: str | None = None) -> None:
    """Queue the ticket email from plain values (the RSVP hot path has no ORM object)."""
    subject = SUBJECTS[reason if reason in SUBJECTS else "going"].format(title=title)
    queue_rendered("promotion" if reason == "promoted" else "confirmation", to_addr, subject, "ticket",
                   {"rsvp_id": rsvp_id, "reason": reason}, rsvp_id=rsvp_id, message_key=message_key)


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
    # The code as text too: mail apps that block images still show it, and door staff can type it.
    context = _context(rsvp, reason=params.get("reason", "going"), show_qr=show_qr, qr_cid=QR_CID, code=code)
    attachments.append(_ics(rally))
    html, text = _render("ticket", **context)
    return Rendered(html, text, tuple(attachments))


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
    """Cancellation, reminder and rally notices: a template, plus the rally's .ics for rally notices."""
    rsvp = _rsvp_for(params)
    name = params["template"]
    if name not in ("cancellation", "reminder", "rally_changed", "rally_cancelled"):
        raise NothingToSend(f"unknown template {name!r}")
    html, text = _render(name, **_context(rsvp, changes=params.get("changes") or []))
    attachments = ()
    if name in ("rally_changed", "rally_cancelled"):
        attachments = (_ics(rsvp.rally),)
    return Rendered(html, text, attachments)


def _audience(rally: Rally):
    return db.session.scalars(
        sa.select(Rsvp).where(Rsvp.rally_id == rally.id, Rsvp.status.in_((RSVP_GOING, RSVP_WAITLISTED)),
                              Rsvp.email.is_not(None)).order_by(Rsvp.id)
    )


def _describe(field: str, value, rally: Rally) -> str:
    if isinstance(value, datetime):
        return local_time(value, rally.timezone)
    return "" if value is None else str(value)


def rally_changed(rally: Rally, changes: dict) -> int:
    """Tell everyone going or waitlisted what changed (changes = {field: (old, new)}); call inside atomic().

    Returns how many messages were queued.
    """
    rows = [
        (CHANGE_LABELS.get(f, f.replace("_", " ").capitalize()), _describe(f, old, rally), _describe(f, new, rally))
        for f, (old, new) in changes.items() if old != new
    ]
    if not rows:
        return 0
    count = 0
    for rsvp in _audience(rally):
        queue_rendered("rally_changed", rsvp.email, f"Changed: {rally.title}", "plain",
                       {"rsvp_id": rsvp.id, "template": "rally_changed", "changes": rows}, rsvp_id=rsvp.id)
        count += 1
    queue_rally_sms(rally.id, "rally_changed")
    return count


def rally_cancelled(rally: Rally) -> int:
    """Tell everyone going or waitlisted that the rally is cancelled (call inside atomic()); returns messages queued."""
    count = 0
    for rsvp in _audience(rally):
        queue_rendered("rally_cancelled", rsvp.email, f"Cancelled: {rally.title}", "plain",
                       {"rsvp_id": rsvp.id, "template": "rally_cancelled"}, rsvp_id=rsvp.id,
                       message_key=f"rally-cancelled:{rsvp.id}")
        count += 1
    queue_rally_sms(rally.id, "rally_cancelled", key_prefix="rally-cancelled")
    return count
