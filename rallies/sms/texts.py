"""The words of each text, in the supporter's language; short, and GSM-7 where the language allows.

Every text to a supporter ends with how to stop them. The ``sms`` renderer builds a queued row's
text when the sender sends it, so it shows the rally as it is then.
"""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from ..dates import local_time
from ..extensions import db
from ..mail.outbox import NothingToSend, Rendered, renderer
from ..models import RSVP_WAITLISTED, Campaign, Rsvp
from ..rsvp.notices import ticket_links


def _stop_line() -> str:
    return _("Reply STOP to opt out")


def _words(template: str, rsvp: Rsvp, params: dict) -> str:
    rally = rsvp.rally
    when = local_time(rally.starts_at, rally.timezone, "short")
    title = rally.title
    if template == "ticket":
        link = ticket_links(rsvp)["ticket"]
        if rsvp.status == RSVP_WAITLISTED:
            return _("You're on the waitlist for %(title)s, %(when)s. Your RSVP: %(link)s", title=title, when=when,
                     link=link)
        return _("You're going to %(title)s, %(when)s. Your ticket: %(link)s", title=title, when=when, link=link)
    if template == "reminder":
        return _("Tomorrow: %(title)s, %(when)s, %(venue)s. Your ticket: %(link)s", title=title, when=when,
                 venue=rally.venue_name or rally.city, link=ticket_links(rsvp)["ticket"])
    if template == "dayof":
        doors = local_time(rally.doors_open_at or rally.starts_at, rally.timezone, "time")
        return _("%(title)s is today. Doors open %(time)s. Your ticket: %(link)s", title=title, time=doors,
                 link=ticket_links(rsvp)["ticket"])
    if template == "rally_changed":
        return _("%(title)s has changed: now %(when)s, %(venue)s. Details: %(link)s", title=title, when=when,
                 venue=rally.venue_name or rally.city, link=ticket_links(rsvp)["ticket"])
    if template == "rally_cancelled":
        return _("%(title)s on %(when)s is cancelled. We're sorry.", title=title, when=when)
    raise NothingToSend(f"unknown SMS template {template!r}")


@renderer("sms")
def render_sms(params: dict) -> Rendered:
    """A queued text, in its supporter's language, ending with how to stop texts."""
    rsvp = db.session.get(Rsvp, params.get("rsvp_id"))
    if rsvp is None or rsvp.supporter is None:
        raise NothingToSend("the RSVP or its supporter is gone")
    with force_locale(rsvp.supporter.locale or "en"):
        text = f"{_words(params.get('template', ''), rsvp, params)} {_stop_line()}"
    return Rendered(html="", text=text)


def stopped_text(locale: str) -> str:
    """The answer to STOP."""
    with force_locale(locale or "en"):
        return _("You will get no more texts from us. Reply START to get them again.")


def started_text(locale: str) -> str:
    """The answer to START."""
    with force_locale(locale or "en"):
        back_on = _("Texts are back on.")
        return f"{back_on} {_stop_line()}"


def help_text(locale: str, campaign: Campaign | None) -> str:
    """The answer to HELP: who is texting, whom to contact, how to stop."""
    with force_locale(locale or "en"):
        who = campaign.name if campaign is not None else _("Rally updates")
        if campaign is not None and campaign.contact_email:
            about = _("%(who)s: rally updates by text. Help: %(contact)s.", who=who, contact=campaign.contact_email)
        else:
            about = _("%(who)s: rally updates by text.", who=who)
        rates = _("Msg & data rates may apply.")
        return f"{about} {rates} {_stop_line()}"
