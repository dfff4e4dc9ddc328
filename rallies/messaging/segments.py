"""Who a message goes to: one select of recipients per (rally, segment, channel).

Campaign messages honour opt-outs here, once: email skips supporters who unsubscribed, SMS goes only
to supporters who consented (sms_opt_in_at), have not sent STOP (sms_stopped_at) and have a phone.
Deleted supporters and RSVPs without an address are never recipients.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..i18n import DEFAULT_LOCALE, supported
from ..models import RSVP_CANCELLED, RSVP_GOING, RSVP_WAITLISTED, Rally, Rsvp, Supporter, utcnow
from ..models.mail import CHANNEL_EMAIL, CHANNEL_SMS, SEGMENTS
from ..rsvp.names import search_text

CHANNELS = (CHANNEL_EMAIL, CHANNEL_SMS)


class UnknownSegment(ValueError):
    """A segment or channel name that does not exist."""


def _segment_rule(rally: Rally, segment: str):
    """The RSVP condition that defines a segment."""
    if segment == "going":
        return Rsvp.status == RSVP_GOING
    if segment == "waitlisted":
        return Rsvp.status == RSVP_WAITLISTED
    if segment == "cancelled":
        return Rsvp.status == RSVP_CANCELLED
    if segment == "checked_in":
        return Rsvp.checked_in_people > 0
    if segment == "no_show":
        # Nobody is a no-show before the rally is over.
        ended = rally.ends_at is not None and rally.ends_at <= utcnow()
        return sa.and_(Rsvp.status == RSVP_GOING, Rsvp.checked_in_people == 0, sa.true() if ended else sa.false())
    if segment == "walkin":
        return Rsvp.is_walkin.is_(True)
    if segment == "opted_in":
        return Rsvp.opt_in.is_(True)
    raise UnknownSegment(segment)


def _channel_rule(channel: str):
    """Who may receive campaign messages on this channel."""
    if channel == CHANNEL_EMAIL:
        return sa.and_(Rsvp.email.is_not(None), Supporter.email_opt_out_at.is_(None))
    if channel == CHANNEL_SMS:
        return sa.and_(Supporter.sms_opt_in_at.is_not(None), Supporter.sms_stopped_at.is_(None),
                       Supporter.phone != "")
    raise UnknownSegment(channel)


def recipients(rally: Rally, segment: str, channel: str, *columns):
    """SELECT the recipients' ``columns`` (default: Rsvp.id) from rsvp JOIN supporter, for a set-based use.

    ``channel`` "both" selects each person reachable on either channel once (for preview search).
    """
    if segment not in SEGMENTS:
        raise UnknownSegment(segment)
    reachable = sa.or_(*(_channel_rule(c) for c in channels_of(channel)))
    return (sa.select(*(columns or (Rsvp.id,)))
            .select_from(Rsvp).join(Supporter, Supporter.id == Rsvp.supporter_id)
            .where(Rsvp.rally_id == rally.id, Supporter.deleted_at.is_(None),
                   _segment_rule(rally, segment), reachable))


def count(rally: Rally, segment: str, channel: str) -> int:
    """How many recipients a segment has on one channel."""
    query = recipients(rally, segment, channel, sa.func.count(Rsvp.id))
    return int(db.session.scalar(query) or 0)


def counts(rally: Rally) -> dict[str, dict[str, int]]:
    """{segment: {"email": n, "sms": n}} for the compose page."""
    return {segment: {channel: count(rally, segment, channel) for channel in CHANNELS} for segment in SEGMENTS}


def channels_of(channel: str) -> tuple[str, ...]:
    """The outbox channels a message's channel ("email", "sms" or "both") writes to."""
    if channel == "both":
        return CHANNELS
    if channel in CHANNELS:
        return (channel,)
    raise UnknownSegment(channel)


def sms_readers_by_locale(rally: Rally, segment: str) -> dict[str, int]:
    """SMS recipients of a segment per language they read (their choice, else the campaign's default)."""
    default = supported(rally.campaign.default_locale) or DEFAULT_LOCALE
    out: dict[str, int] = {}
    query = recipients(rally, segment, CHANNEL_SMS, Supporter.locale, sa.func.count(Rsvp.id)).group_by(Supporter.locale)
    for locale, n in db.session.execute(query):
        key = supported(locale) or default
        out[key] = out.get(key, 0) + int(n)
    return out


def find_recipients(rally: Rally, segment: str, channel: str, name: str, limit: int = 20) -> list[Rsvp]:
    """Recipients whose name starts a word with ``name`` (for preview), first by name."""
    query = recipients(rally, segment, channel, Rsvp)
    q = search_text(name or "")
    if q:
        query = query.where(sa.or_(Rsvp.search_name.startswith(q, autoescape=True),
                                   Rsvp.search_name.contains(" " + q, autoescape=True)))
    return list(db.session.scalars(query.order_by(Rsvp.name, Rsvp.id).limit(limit)))


def recipient(rally: Rally, segment: str, channel: str, rsvp_id: int) -> Rsvp | None:
    """The RSVP if it is one of the segment's recipients on this channel, else None."""
    return db.session.scalar(recipients(rally, segment, channel, Rsvp).where(Rsvp.id == rsvp_id))
