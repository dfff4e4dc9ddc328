"""Volunteer email through the outbox: the confirmation with the volunteer's own door link.

Queued in the sign-up's transaction (mail.delivery.queue_rendered) and rendered by the outbox sender
from the sign-up as it is then: a sign-up cancelled meanwhile gets nothing.
"""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from ..dates import local_time
from ..extensions import db
from ..i18n import DEFAULT_LOCALE, supported
from ..keys.link_secrets import page_token
from ..mail.delivery import NothingToSend, Rendered, queue_rendered, renderer
from ..mail.links import external_url
from ..models import Rally, VolunteerSignup, utcnow
from ..models.volunteers import SIGNUP_ACTIVE
from ..rallies.texts import text_for
from .door_links import door_link_secret
from .shifts import link_window


def confirmation_email(signup: VolunteerSignup, rally: Rally) -> None:
    """Queue the confirmation (once per sign-up and door link; call inside the sign-up's transaction)."""
    queue_rendered("volunteer", signup.email, f"Your volunteer shift: {rally.title}", "volunteer",
                   {"signup_id": signup.id, "template": "volunteer_confirm"},
                   message_key=f"volunteer.confirm.{signup.id}.{signup.link_id}")


def email_locale(signup: VolunteerSignup, rally: Rally) -> str:
    """The page's language at sign-up, else the campaign's default, else English."""
    return supported(signup.locale) or supported(rally.campaign.default_locale) or DEFAULT_LOCALE


def shift_context(signup: VolunteerSignup, locale: str) -> dict:
    """What volunteer pages and emails show about a sign-up's shift, in the rally's zone (zone named)."""
    shift = signup.shift
    rally = shift.rally
    opens, closes = link_window(shift)
    return dict(
        signup=signup, shift=shift, rally=rally, door=shift.door.name,
        title=text_for(rally, "title", locale),
        starts=local_time(shift.starts_at, rally.timezone), ends=local_time(shift.ends_at, rally.timezone),
        opens=local_time(opens, rally.timezone), closes=local_time(closes, rally.timezone),
        venue=", ".join(p for p in (rally.venue_name, rally.address, rally.city, rally.state) if p),
    )


def resend_email(signup: VolunteerSignup) -> None:
    """Send the confirmation again to a mailbox that signed up twice: at most once an hour, so a form
    submitted again and again cannot flood it."""
    queue_rendered("volunteer", signup.email, "Your volunteer shift", "volunteer",
                   {"signup_id": signup.id, "template": "volunteer_confirm"},
                   message_key=f"volunteer.resend.{signup.id}.{utcnow():%Y%m%d%H}")


def reminder_email(signup: VolunteerSignup, kind: str) -> None:
    """Queue a reminder, "day" (the day before) or "soon" (two hours before); once per sign-up and kind."""
    rally = signup.shift.rally
    queue_rendered("volunteer", signup.email, f"Your volunteer shift: {rally.title}", "volunteer",
                   {"signup_id": signup.id, "template": "volunteer_reminder", "kind": kind},
                   # The start is in the key: a shift moved to another time is reminded of again.
                   message_key=f"volunteer.{kind}.{signup.id}.{int(signup.shift.starts_at.timestamp())}")


def volunteer_message(signup: VolunteerSignup, subject: str, body: str, key: str) -> None:
    """Queue an organizer's message to one volunteer (``key`` makes a repeated send a no-op)."""
    queue_rendered("volunteer", signup.email, subject, "volunteer",
                   {"signup_id": signup.id, "template": "volunteer_message", "subject": subject, "body": body},
                   message_key=f"volunteer.message.{key}.{signup.id}")


_TEMPLATES = ("volunteer_confirm", "volunteer_reminder", "volunteer_message")


@renderer("volunteer")
def _render_volunteer(params: dict) -> Rendered:
    """The confirmation, a reminder or an organizer's message: the shift, door, role, notes, the volunteer's
    door link and their cancel link."""
    name = params.get("template", "volunteer_confirm")
    if name not in _TEMPLATES:
        raise NothingToSend(f"unknown template {name!r}")
    signup = db.session.get(VolunteerSignup, params.get("signup_id"))
    if signup is None or signup.status != SIGNUP_ACTIVE:
        raise NothingToSend("the sign-up was cancelled or deleted after this was queued")
    rally = signup.shift.rally
    if rally.is_cancelled:
        raise NothingToSend("the rally was cancelled after this was queued")
    secret = door_link_secret(signup)
    if secret is None:
        raise NothingToSend("the volunteer's door link was revoked")
    token = page_token(signup)
    locale = email_locale(signup, rally)
    with force_locale(locale):
        context = shift_context(signup, locale)
        context.update(kind=params.get("kind", ""), message=params.get("body", ""))
        context["links"] = {"door": external_url("door.open_link", secret=secret),
                            "page": external_url("volunteers.page", token=token),
                            "cancel": external_url("volunteers.cancel", token=token)}
        html = render_template(f"emails/{name}.html", **context)
        text = render_template(f"emails/{name}.txt", **context)
        if name == "volunteer_message":
            subject = params.get("subject") or _("A message about your volunteer shift")
        elif name == "volunteer_reminder" and params.get("kind") == "soon":
            subject = _("Your volunteer shift starts soon: %(title)s", title=context["title"])
        elif name == "volunteer_reminder":
            subject = _("Tomorrow: your volunteer shift at %(title)s", title=context["title"])
        else:
            subject = _("Your volunteer shift: %(title)s", title=context["title"])
    contact = rally.campaign.contact_email
    return Rendered(html, text, (), subject, locale, {"Reply-To": contact} if contact else {})
