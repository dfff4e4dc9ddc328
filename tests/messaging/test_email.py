"""The email a supporter gets: escaped HTML, verbatim text, List-Unsubscribe headers, Reply-To, language."""

from __future__ import annotations

import email
from email import policy

from rallies.database import atomic
from rallies.extensions import db
from rallies.mail import delivery
from rallies.mail.outbox import run_renderer
from rallies.messaging import compose, queueing
from rallies.models import Campaign, Rsvp
from rallies.rsvp import notices
from tests.messaging.people import add_person, consented, draft
from tests.stored import outbox

HOSTILE = "<script>alert(1)</script> and {{ 7*7 }}\n\nSecond paragraph & more"


def built(row) -> email.message.EmailMessage:
    """The message the sender would send for an outbox row, parsed."""
    return email.message_from_bytes(delivery.render_body(row), policy=policy.default)


def parts(msg) -> tuple[str, str]:
    return tuple(msg.get_body((kind,)).get_content().replace("\r\n", "\n") for kind in ("plain", "html"))


def _queue(owner, rally, **fields):
    message = compose.create_message(rally, owner, draft(**fields))
    queueing.queue_message(message, owner)
    return message


def test_hostile_text_is_escaped_in_html_and_verbatim_in_text_and_sms(owner, rally):
    add_person(rally, "Ana <b>López</b>", **consented())
    _queue(owner, rally, channel="both", body=HOSTILE, sms_body="<script>alert(1)</script> {{ 7*7 }}")
    [mail] = outbox(kind="campaign_message")
    text, html = parts(built(mail))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" in html  # data, never a template
    assert "<p>Second paragraph &amp; more</p>" in html
    assert "Ana &lt;b&gt;López&lt;/b&gt;" in html
    assert HOSTILE in text
    [sms] = outbox(kind="campaign_sms")
    sms_text = run_renderer(sms).text
    assert sms_text == "<script>alert(1)</script> {{ 7*7 }}\nReply STOP to opt out"


def test_list_unsubscribe_headers_point_at_a_working_one_click_link(client, owner, rally):
    add_person(rally, "Ana")
    _queue(owner, rally)
    msg = built(outbox()[0])
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    target = msg["List-Unsubscribe"].strip("<>")
    assert target.startswith("http://localhost/u/")
    text, html = parts(msg)
    assert target in text and target in html
    assert msg["Message-ID"] == outbox()[0].message_id


def test_reply_to_is_the_campaigns_contact_on_campaign_messages_and_ticket_email(owner, rally):
    with atomic():
        db.session.get(Campaign, rally.campaign_id).contact_email = "team@campaign.example"
    rsvp_id = add_person(rally, "Ana")
    _queue(owner, rally)
    with atomic():
        notices.ticket_email(db.session.get(Rsvp, rsvp_id), "resend")
    ticket = outbox(kind="confirmation")[0]
    for row in (outbox(kind="campaign_message")[0], ticket):
        assert built(row)["Reply-To"] == "team@campaign.example"


def test_no_reply_to_without_a_contact_address(owner, rally):
    add_person(rally, "Ana")
    _queue(owner, rally)
    assert built(outbox()[0])["Reply-To"] is None


def test_spanish_reader_gets_the_spanish_text(owner, rally):
    with atomic():
        db.session.get(type(rally), rally.id).translations = {"es": {"title": "Mitin de Lucía", "description": ""}}
    add_person(rally, "Lucía", locale="es", **consented())
    _queue(owner, rally, channel="both", subject="Hello", body="English body", sms_body="English SMS",
           translations={"es": {"subject": "Hola", "body": "Texto en español", "sms_body": ""}})
    mail = outbox(kind="campaign_message")[0]
    msg = built(mail)
    assert msg["Subject"] == "Hola"
    assert "Texto en español" in parts(msg)[0]
    assert "Mitin de Lucía" in parts(msg)[0]  # the rally's Spanish title in the footer and layout
    sms = outbox(kind="campaign_sms")[0]
    text = run_renderer(sms).text
    assert text.startswith("English SMS\n")  # no Spanish SMS text: the original goes


def test_without_a_choice_the_campaigns_default_language_is_used(owner, rally):
    with atomic():
        db.session.get(Campaign, rally.campaign_id).default_locale = "es"
    add_person(rally, "Sin preferencia")
    add_person(rally, "Prefers English", locale="en")
    _queue(owner, rally, translations={"es": {"subject": "Hola", "body": "Cuerpo", "sms_body": ""}})
    assert sorted(built(row)["Subject"] for row in outbox()) == ["Hello", "Hola"]
