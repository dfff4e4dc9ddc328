"""Supporters across rallies: one person per (campaign, email); export and deletion of their data."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa

from ..database import atomic, insert
from ..extensions import db
from ..keys.link_secrets import new_page_token
from ..mail.addresses import normalise_email
from ..models import Checkin, OutboxMessage, Rally, Rsvp, RsvpSmsConsent, ScanLog, Supporter, utcnow
from ..rallies.counters import next_change_number
from ..sms.consent import SmsConsent

rally_t = Rally.__table__
rsvp_t = Rsvp.__table__


def supporter_for(campaign_id: int, email: str, name: str = "", phone: str = "", postal_code: str = "",
                  locale: str = "", sms: SmsConsent | None = None) -> int | None:
    """The id of the campaign's supporter for this email, created or refreshed in the current transaction.

    One upsert statement (INSERT .. ON CONFLICT DO UPDATE .. RETURNING id), so two RSVPs from one
    person to two rallies at once both succeed. The latest RSVP's details win (a person may fix a
    typo in their name or add a phone, or RSVP from a page in another language: ``locale``, which
    their email then uses); blank values never erase known ones. A new SMS consent is stored by the
    same statement (and lifts an earlier STOP); without one the stored consent stays.
    """
    email = normalise_email(email)
    if not email:
        return None
    consent = sms.columns() if sms is not None else {"sms_opt_in_at": None, "sms_consent_text": "",
                                                     "sms_consent_ip": ""}
    return db.session.execute(_supporter_upsert(), dict(
        campaign_id=campaign_id, email=email, name=name[:120], phone=phone[:32], postal_code=postal_code[:20],
        locale=(locale or "")[:10], created_at=utcnow(), **consent)).scalar_one()


def _supporter_upsert():
    """INSERT .. ON CONFLICT (campaign_id, email) DO UPDATE, keeping known details over blank ones."""
    t = Supporter.__table__
    stmt = insert(t)

    def keep(col):
        return sa.case((stmt.excluded[col] != "", stmt.excluded[col]), else_=t.c[col])

    def consented(col):
        return sa.case((stmt.excluded.sms_opt_in_at.is_not(None), stmt.excluded[col]), else_=t.c[col])

    return stmt.on_conflict_do_update(
        index_elements=["campaign_id", "email"],
        set_={"name": keep("name"), "phone": keep("phone"), "postal_code": keep("postal_code"),
              "locale": keep("locale"),
              "sms_opt_in_at": consented("sms_opt_in_at"), "sms_consent_text": consented("sms_consent_text"),
              "sms_consent_ip": consented("sms_consent_ip"),
              "sms_stopped_at": sa.case((stmt.excluded.sms_opt_in_at.is_not(None), None), else_=t.c.sms_stopped_at)},
    ).returning(t.c.id)


def find_supporters(campaign_id: int, query: str = "", limit: int = 50, offset: int = 0) -> list[Supporter]:
    """The campaign's (not deleted) supporters, optionally by email or name prefix."""
    q = sa.select(Supporter).where(Supporter.campaign_id == campaign_id, Supporter.email.is_not(None))
    query = query.strip().lower()
    if query:
        pattern = _like_prefix(query)
        q = q.where(sa.or_(Supporter.email.like(pattern, escape="\\"),
                           sa.func.lower(Supporter.name).like(pattern, escape="\\")))
    return list(db.session.scalars(q.order_by(Supporter.email).limit(limit).offset(offset)))


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def export_person(supporter: Supporter) -> dict:
    """Everything the campaign holds about one person, as JSON-ready data."""
    rsvps = db.session.scalars(
        sa.select(Rsvp).join(Rally).where(Rsvp.supporter_id == supporter.id).order_by(Rsvp.created_at)
    ).all()
    mail = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.rsvp_id.in_([r.id for r in rsvps])).order_by(OutboxMessage.id)
    ).all()
    iso = lambda d: d.isoformat() if d else None  # noqa: E731
    return {
        "supporter": {
            "email": supporter.email, "name": supporter.name, "phone": supporter.phone,
            "postal_code": supporter.postal_code, "created_at": iso(supporter.created_at),
            "sms_opt_in_at": iso(supporter.sms_opt_in_at), "sms_consent_text": supporter.sms_consent_text,
            "sms_consent_ip": supporter.sms_consent_ip, "sms_stopped_at": iso(supporter.sms_stopped_at),
        },
        "rsvps": [
            {
                "rally": r.rally.title, "rally_starts_at": iso(r.rally.starts_at), "status": r.status,
                "name": r.name, "email": r.email, "phone": r.phone, "postal_code": r.postal_code,
                "guests": r.guests, "checked_in_people": r.checked_in_people,
                "opt_in": r.opt_in, "opt_in_at": iso(r.opt_in_at),
                "utm_source": r.utm_source, "utm_medium": r.utm_medium, "utm_campaign": r.utm_campaign,
                "ref": r.ref, "created_at": iso(r.created_at), "reminder_answer": r.reminder_answer,
            }
            for r in rsvps
        ],
        "emails": [
            {"kind": m.kind, "channel": m.channel, "subject": m.subject, "status": m.status,
             "created_at": iso(m.created_at),
             "sent_at": iso(m.sent_at)}
            for m in mail
        ],
    }


def delete_person(supporter: Supporter) -> int:
    """Erase a person's personal data everywhere, in one transaction; counts stay true. Returns RSVPs scrubbed.

    RSVP rows stay (status, party size and check-ins feed turnout history) but lose name,
    email, phone, postal code and search text, and so do walk-in RSVPs given the same email
    at the campaign's doors; the ticket token is replaced so the old ticket URL stops working;
    the door's copies (the "First L." inside stored scan verdicts, notes and undo reasons) are
    scrubbed; queued or sent email to them, and SMS consent still waiting for a confirmation, is deleted.
    """
    with atomic():
        return _delete_person(db.session.get(Supporter, supporter.id))


def _delete_person(supporter: Supporter) -> int:
    email = supporter.email or "\x00"
    rsvps = db.session.scalars(
        sa.select(Rsvp).where(sa.or_(Rsvp.supporter_id == supporter.id, sa.func.lower(Rsvp.email) == email.lower()))
        .join(Rally).where(Rally.campaign_id == supporter.campaign_id).order_by(Rsvp.id)
    ).all()
    words = _identifying_words(supporter, rsvps)
    for rally_id in sorted({r.rally_id for r in rsvps}):
        # The change number takes the rally's row lock (see rsvp.rsvps): door sync numbers stay ordered.
        seq = next_change_number(rally_id)
        for r in rsvps:
            if r.rally_id != rally_id:
                continue
            r.name, r.email, r.email_key, r.phone, r.postal_code = "", None, None, "", ""
            r.door_name, r.search_name = DELETED, ""
            r.utm_source = r.utm_medium = r.utm_campaign = r.ref = ""
            r.opt_in, r.opt_in_at = False, None
            fresh = new_page_token()
            r.token_hash, r.token_sealed = fresh.token_hash, fresh.token_sealed
            r.changed_seq = seq
        db.session.flush()
    ids = [r.id for r in rsvps]
    if ids:
        _scrub_scan_log(ids, words)
        # Only mail tied to this campaign's RSVPs: the same address may also be an organizer elsewhere.
        db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.rsvp_id.in_(ids)))
        db.session.execute(sa.delete(RsvpSmsConsent).where(RsvpSmsConsent.rsvp_id.in_(ids)))
    supporter.email = None
    supporter.name = supporter.phone = supporter.postal_code = ""
    supporter.sms_consent_text = supporter.sms_consent_ip = ""
    supporter.sms_opt_in_at = None
    supporter.deleted_at = utcnow()
    return len(rsvps)


#: What a deleted person's door name becomes, in the RSVP row and in stored scan verdicts.
DELETED = "Deleted"


def _identifying_words(supporter: Supporter, rsvps: list[Rsvp]) -> re.Pattern | None:
    """A pattern for the person's email, names, door names and name words (3+ letters), longest first."""
    words = {supporter.email or "", supporter.name, supporter.phone}
    for r in rsvps:
        words |= {r.email or "", r.name, r.door_name, r.phone}
        words |= {part for part in r.name.split() if len(part) >= 3}
    words |= {part for part in supporter.name.split() if len(part) >= 3}
    words = sorted((w.strip() for w in words if w and w.strip() and w.strip() != DELETED), key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None


def _redact(value, words: re.Pattern):
    """The value with every identifying word replaced, inside JSON lists and objects too."""
    if isinstance(value, str):
        return words.sub("[deleted]", value)
    if isinstance(value, list):
        return [_redact(v, words) for v in value]
    if isinstance(value, dict):
        return {k: _redact(v, words) for k, v in value.items()}
    return value


def _scrub_scan_log(rsvp_ids: list[int], words: re.Pattern | None) -> None:
    """Scrub the door's copies: stored scan verdicts (replayed for retried nonces), notes and undo reasons."""
    for scan in db.session.scalars(sa.select(ScanLog).where(ScanLog.rsvp_id.in_(rsvp_ids))):
        try:
            body = json.loads(scan.response) if scan.response else None
        except ValueError:
            body = None
        if isinstance(body, dict):
            if isinstance(body.get("ticket"), dict) and "name" in body["ticket"]:
                body["ticket"]["name"] = DELETED
            scan.response = json.dumps(_redact(body, words) if words else body)
        elif scan.response and words:
            scan.response = words.sub("[deleted]", scan.response)
        if words:
            scan.note = words.sub("[deleted]", scan.note or "")
    if words:
        for row in db.session.scalars(sa.select(Checkin).where(Checkin.rsvp_id.in_(rsvp_ids),
                                                               Checkin.undo_reason != "")):
            row.undo_reason = words.sub("[deleted]", row.undo_reason)
    db.session.flush()
