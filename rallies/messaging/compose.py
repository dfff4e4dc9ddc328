"""Writing a message: its fields, its schedule in the rally's time zone, and what SMS will cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _

from ..database import atomic
from ..extensions import db
from ..models import CampaignMessage, Rally, User
from ..models.mail import MESSAGE_CANCELLED, MESSAGE_DRAFT, MESSAGE_SCHEDULED
from ..sms.segments import cost
from . import segments


class ScheduleError(ValueError):
    """A send time that cannot be used (it does not exist on the clock, or it is past)."""


def local_to_utc(day: date, at: time, zone: str) -> datetime:
    """A wall-clock time in ``zone`` as UTC.

    A time skipped by a DST change (02:30 on a spring-forward night) raises ScheduleError; a
    repeated one (01:30 on a fall-back night) is the first of the two (fold=0).
    """
    tz = ZoneInfo(zone)
    local = datetime.combine(day, at).replace(tzinfo=tz, fold=0)
    utc = local.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ScheduleError(_("%(time)s does not exist on %(day)s in %(zone)s (the clocks change); pick another time.",
                              time=at.strftime("%H:%M"), day=day.isoformat(), zone=zone))
    return utc


def stop_suffix() -> str:
    """What ends every campaign SMS, in the current language."""
    return _("Reply STOP to opt out")


def sms_text(body: str) -> str:
    """An SMS as sent: the organizer's text, then the opt-out line."""
    return f"{body.strip()}\n{stop_suffix()}"


def sms_segments(body: str, locale: str = "en") -> int:
    """Segments of one SMS as sent in ``locale`` (the opt-out line is in that language); 0 without text."""
    if not body.strip():
        return 0
    with force_locale(locale):
        return cost(sms_text(body)).segments


def audience(rally: Rally, segment: str, channel: str, sms_body: str = "", es_sms_body: str = "") -> dict:
    """Recipients of a segment per channel, in total for the chosen channel, and what its SMS cost in
    segments: each reader's language's text (one character outside GSM-7 doubles it) times its readers.
    UnknownSegment for a name that does not exist."""
    channels = segments.channels_of(channel)
    per_channel = {c: segments.count(rally, segment, c) for c in segments.CHANNELS}
    total = 0
    if "sms" in channels:
        for locale, readers in segments.sms_readers_by_locale(rally, segment).items():
            text = es_sms_body if locale == "es" and es_sms_body.strip() else sms_body
            total += sms_segments(text, locale) * readers
    return {"segment": segment, "channel": channel, **per_channel,
            "recipients": sum(per_channel[c] for c in channels), "sms_segments": sms_segments(sms_body),
            "sms_segments_es": sms_segments(es_sms_body or sms_body, "es"), "sms_total_segments": total}


@dataclass
class Draft:
    """What the compose form collects."""

    segment: str
    channel: str
    subject: str = ""
    body: str = ""
    sms_body: str = ""
    translations: dict = field(default_factory=dict)
    #: None: a draft; otherwise when it goes (UTC).
    send_at: datetime | None = None


def create_message(rally: Rally, user: User, draft: Draft) -> CampaignMessage:
    """Store a message, as a draft or scheduled for ``draft.send_at``."""
    segments.channels_of(draft.channel)  # refuses an unknown channel
    with atomic():
        message = CampaignMessage(
            campaign_id=rally.campaign_id, rally_id=rally.id, segment=draft.segment, channel=draft.channel,
            subject=" ".join(draft.subject.split())[:200], body=draft.body, sms_body=draft.sms_body,
            translations={k: v for k, v in draft.translations.items() if any(v.values())},
            status=MESSAGE_SCHEDULED if draft.send_at else MESSAGE_DRAFT, send_at=draft.send_at,
            created_by_id=user.id, sent_by_id=user.id if draft.send_at else None,
            sent_by_email=user.email if draft.send_at else "",
        )
        db.session.add(message)
    return message


def cancel_schedule(message: CampaignMessage) -> bool:
    """Cancel a scheduled or draft message; False if it was already queued."""
    t = CampaignMessage.__table__
    with atomic() as session:
        done = session.execute(t.update().where(t.c.id == message.id,
                                                t.c.status.in_((MESSAGE_DRAFT, MESSAGE_SCHEDULED)))
                               .values(status=MESSAGE_CANCELLED)).rowcount
    db.session.expire(message)
    return done == 1
