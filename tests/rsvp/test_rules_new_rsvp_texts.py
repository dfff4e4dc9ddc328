"""A new RSVP's text message and language: who is opted in, which text is queued, in which language.

The rules of rsvp/new_rsvp.py, at the service: a going or waitlisted RSVP whose form ticked "Text me"
makes its supporter textable and queues the ticket by text with its own status; without the tick nothing
is texted; an unconfirmed RSVP opts nobody in until the mailbox's owner confirms.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from rallies.extensions import db
from rallies.models import Supporter
from rallies.models.rsvps import RsvpSmsConsent
from rallies.rsvp.rsvps import RsvpInput, create_or_update_rsvp, take_place
from rallies.sms.consent import SmsConsent
from tests.stored import outbox, stored_rsvp

PHONE = "+13125550123"
AGREED = datetime(2026, 11, 2, 15, 30, tzinfo=UTC)


def consent() -> SmsConsent:
    return SmsConsent("Text me updates about this rally.", "203.0.113.9", AGREED)


def texts() -> list:
    return [m for m in outbox() if m.kind == "sms_ticket"]


def supporter_of(rsvp_id: int) -> Supporter:
    return db.session.get(Supporter, stored_rsvp(rsvp_id).supporter_id)


def test_a_going_rsvp_that_ticked_texts_opts_its_supporter_in_and_queues_the_ticket_text(make_rally, campaign):
    rally = make_rally(campaign, capacity=5)
    res = create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org", phone=PHONE,
                                                 postal_code="60607", locale="es", sms_consent=consent()))
    assert res.outcome == "going"
    who = supporter_of(res.rsvp_id)
    assert (who.phone, who.locale, who.sms_consent_text, who.sms_consent_ip) == (
        PHONE, "es", "Text me updates about this rally.", "203.0.113.9")
    assert who.sms_opt_in_at.replace(tzinfo=UTC) == AGREED
    [text] = texts()
    assert (text.to_addr, text.rsvp_id, text.render_params["reason"]) == (PHONE, res.rsvp_id, "going")
    [mail] = outbox("confirmation", "ana@example.org")
    assert (mail.rsvp_id, mail.render_params["reason"], mail.render_params["locale"]) == (res.rsvp_id, "going", "es")


def test_a_waitlisted_rsvp_is_texted_that_it_is_waitlisted(make_rally, campaign):
    rally = make_rally(campaign, capacity=1)
    create_or_update_rsvp(rally, RsvpInput(name="Bo", email="bo@example.org"))
    res = create_or_update_rsvp(rally, RsvpInput(name="Ana", email="ana@example.org", phone=PHONE,
                                                 sms_consent=consent()))
    assert res.outcome == "waitlisted"
    assert [(m.to_addr, m.render_params["reason"]) for m in texts()] == [(PHONE, "waitlisted")]


def test_no_tick_no_text_and_no_opt_in(make_rally, campaign):
    rally = make_rally(campaign, capacity=5)
    res = create_or_update_rsvp(rally, RsvpInput(name="Ana", email="ana@example.org", phone=PHONE))
    assert texts() == []
    assert supporter_of(res.rsvp_id).sms_opt_in_at is None
    assert "locale" not in outbox("confirmation", "ana@example.org")[0].render_params


def test_an_unconfirmed_rsvp_keeps_the_consent_and_texts_only_once_confirmed(make_rally, campaign):
    rally = make_rally(campaign, capacity=5, confirm_by_email=True)
    res = create_or_update_rsvp(rally, RsvpInput(name="Ana", email="ana@example.org", phone=PHONE,
                                                 sms_consent=consent()))
    assert (res.outcome, stored_rsvp(res.rsvp_id).supporter_id, texts()) == ("unconfirmed", None, [])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Supporter)) == 0
    kept = db.session.get(RsvpSmsConsent, res.rsvp_id)
    assert (kept.text, kept.ip) == ("Text me updates about this rally.", "203.0.113.9")
    [mail] = outbox("confirmation", "ana@example.org")
    assert mail.render_params["reason"] == "confirm"

    take_place(stored_rsvp(res.rsvp_id))
    assert db.session.get(RsvpSmsConsent, res.rsvp_id) is None
    assert supporter_of(res.rsvp_id).sms_consent_text == "Text me updates about this rally."
    assert [(m.to_addr, m.rsvp_id, m.render_params["reason"]) for m in texts()] == [(PHONE, res.rsvp_id, "going")]


def test_a_confirmation_without_a_kept_consent_texts_nobody(make_rally, campaign):
    rally = make_rally(campaign, capacity=5, confirm_by_email=True)
    res = create_or_update_rsvp(rally, RsvpInput(name="Ana", email="ana@example.org", phone=PHONE))
    take_place(stored_rsvp(res.rsvp_id))
    assert texts() == []
    assert supporter_of(res.rsvp_id).sms_opt_in_at is None
