"""Texts supporters send back, posted by the stand-in as signed Twilio webhooks to the app's live server."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from rallies.database import atomic
from rallies.extensions import db
from rallies.models import Campaign, OutboxMessage, Supporter
from rallies.sms.consent import SmsConsent
from rallies.sms.delivery import deliver_pending_sms
from rallies.sms.inbound import keyword_of
from rallies.sms.queue import queue_ticket_sms
from tests.factories import campaign_of, make_rally, make_rsvp, make_user
from tests.sms.conftest import twilio_config
from tests.sms.twilio_standin import inbound_params, post_inbound
from tests.sms.twilio_standin import signature as twilio_signature

PHONE = "+14155552671"
PATH = "/sms/inbound"


@pytest.fixture
def live(live_server, twilio):
    """The live app, texting through the stand-in, with BASE_URL as its public address (what Twilio signs)."""
    app = live_server.app
    app.config.update(twilio_config(twilio.base_url), BASE_URL="https://rallies.example.org")
    with app.app_context():
        yield live_server

def text_in(live, body, *, forged=False, phone=PHONE):
    return post_inbound(live.url + PATH, "https://rallies.example.org" + PATH, inbound_params(phone, body),
                        forged=forged)

def opted_in(rally, **fields):
    return make_rsvp(rally, phone=PHONE, sms_consent=SmsConsent("I agree", "198.51.100.7"), **fields)

def sms_statuses():
    db.session.rollback()
    return [r.status for r in db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "sms")
                                                  .order_by(OutboxMessage.id))]

def stopped_at():
    db.session.rollback()
    return db.session.scalars(sa.select(Supporter.sms_stopped_at).order_by(Supporter.id)).all()

def test_keywords_are_read_trimmed_in_any_case():
    assert [keyword_of(w) for w in (" stop ", "StopAll", "unsubscribe", "CANCEL", "end", "Quit")] == ["stop"] * 6
    assert [keyword_of(w) for w in ("start", "UNSTOP", "yes ")] == ["start"] * 3
    assert keyword_of(" help") == "help" and keyword_of("stop please") == "" and keyword_of("") == ""

def test_stop_stops_the_next_text_at_once_while_email_still_goes(live, twilio):
    from rallies.mail.delivery import deliver_pending

    rally = make_rally(campaign_of(make_user()))
    opted_in(rally)  # the ticket text is queued
    status, body = text_in(live, "  Stop ")
    assert status == 200 and body.startswith("<?xml") and "You will get no more texts from us" in body
    assert all(stopped_at())
    assert sms_statuses() == ["failed"]  # cancelled while still queued
    assert deliver_pending_sms() == 0 and twilio.received == []
    assert deliver_pending() == 1  # the ticket email still goes

def test_stop_catches_a_text_queued_or_claimed_after_it(live, twilio):
    """The sender's last check: a row that slipped past the STOP's cancellation is still not sent."""
    rally = make_rally(campaign_of(make_user()))
    result = opted_in(rally)
    deliver_pending_sms()
    assert text_in(live, "STOP")[0] == 200
    with atomic():
        queue_ticket_sms(result.rsvp_id, PHONE, "going")  # e.g. written by a transaction that began before the STOP
    assert deliver_pending_sms() == 0
    assert sms_statuses() == ["sent", "failed"] and len(twilio.received) == 1

def test_start_resumes_texts_only_for_those_who_had_agreed(live, twilio):
    campaign = campaign_of(make_user())
    rally = make_rally(campaign)
    opted_in(rally)
    other = make_rally(campaign_of(make_user(campaign="Other campaign")))
    make_rsvp(other, phone=PHONE)  # the same number in another campaign, never agreed to texts
    deliver_pending_sms()
    text_in(live, "STOP")
    assert all(stopped_at())
    status, body = text_in(live, "start")
    assert status == 200 and "Texts are back on." in body
    db.session.rollback()
    rows = db.session.execute(sa.select(Supporter.sms_opt_in_at, Supporter.sms_stopped_at).order_by(Supporter.id)).all()
    assert rows[0].sms_stopped_at is None
    assert rows[1].sms_opt_in_at is None and rows[1].sms_stopped_at is not None
    opted_in(make_rally(campaign))
    assert deliver_pending_sms() == 1 and len(twilio.received) == 2

def test_help_names_the_campaign_contact_escaped_in_twiml(live):
    campaign = campaign_of(make_user(campaign="<script>alert(1)</script> & Friends"))
    with atomic():
        db.session.get(Campaign, campaign.id).contact_email = "help@example.org"
    opted_in(make_rally(campaign))
    status, body = text_in(live, "HELP")
    assert status == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Friends: rally updates by text. Help: help@example.org." in body
    assert "<script>" not in body and "Reply STOP to opt out" in body
    assert body.count("<Message>") == 1

def test_a_forged_or_missing_signature_is_refused(live):
    rally = make_rally(campaign_of(make_user()))
    opted_in(rally)
    assert text_in(live, "STOP", forged=True)[0] == 403
    import urllib.parse
    import urllib.request

    request = urllib.request.Request(live.url + PATH, data=urllib.parse.urlencode(inbound_params(PHONE, "STOP")).encode())
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        opener.open(request, timeout=10)
        raise AssertionError("accepted without a signature")
    except urllib.error.HTTPError as exc:
        assert exc.code == 403
    assert not any(stopped_at())

def test_a_signature_for_the_proxy_facing_url_is_refused(client, app):
    """Twilio signs the public URL (BASE_URL); a signature over the app's own request URL is not it."""
    app.config.update(twilio_config("http://127.0.0.1:9"), BASE_URL="https://rallies.example.org")
    params = inbound_params(PHONE, "STOP")
    bad = twilio_signature("http://localhost" + PATH, params)
    assert client.post(PATH, data=params, headers={"X-Twilio-Signature": bad}).status_code == 403
    good = twilio_signature("https://rallies.example.org" + PATH, params)
    assert client.post(PATH, data=params, headers={"X-Twilio-Signature": good}).status_code == 200

def test_other_texts_get_no_reply(client, app):
    app.config.update(twilio_config("http://127.0.0.1:9"), BASE_URL="https://rallies.example.org")
    params = inbound_params(PHONE, "see you there!")
    sig = twilio_signature("https://rallies.example.org" + PATH, params)
    response = client.post(PATH, data=params, headers={"X-Twilio-Signature": sig})
    assert response.status_code == 200 and "<Message>" not in response.get_data(as_text=True)


def test_twilio_opt_out_type_names_keywords_of_other_languages(live):
    """With Advanced Opt-Out, Twilio tells us a text like "ALTO" was a STOP (OptOutType)."""
    rally = make_rally(campaign_of(make_user()))
    opted_in(rally)
    params = {**inbound_params(PHONE, "ALTO"), "OptOutType": "STOP"}
    status, _body = post_inbound(live.url + PATH, "https://rallies.example.org" + PATH, params)
    assert status == 200 and all(stopped_at())
