"""SMS consent on a confirm-by-email rally: kept with the unconfirmed RSVP, applied only when the mailbox confirms."""

from __future__ import annotations

import re

import sqlalchemy as sa

from rallies.extensions import db
from rallies.mail import delivery
from rallies.models import OutboxMessage, Rsvp, RsvpSmsConsent, Supporter
from rallies.rsvp import supporters as supporter_service
from tests.factories import campaign_of, make_rally, make_user
from tests.stored import outbox

CLIENT_IP = "203.0.113.9"
PHONE = "+14155552671"


def post(client, rally, email="ana@example.org", **fields):
    data = {"name": "Ana López", "email": email, "guests": "0", **fields}
    return client.post(f"/r/{rally.slug}/rsvp", data=data, environ_base={"REMOTE_ADDR": CLIENT_IP})


def supporter(email="ana@example.org"):
    db.session.rollback()
    return db.session.scalar(sa.select(Supporter).where(Supporter.email == email))


def sms_rows():
    db.session.rollback()
    return db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "sms")).all()


def confirm_link(email="ana@example.org") -> str:
    """The confirm link as the confirmation email gives it."""
    [message] = [m for m in outbox("confirmation", email) if m.render_params["reason"] == "confirm"]
    body = delivery.render_body(message).replace(b"=\r\n", b"").decode("utf-8", "replace")
    return re.search(r"/t/[A-Za-z0-9_\-]{43}/confirm", body).group(0)


def gated_rally():
    return make_rally(campaign_of(make_user()), title="Town hall", capacity=10, confirm_by_email=True)


def test_consent_given_on_the_form_is_stored_when_the_mailbox_confirms(client):
    rally = gated_rally()
    assert post(client, rally, phone="(415) 555-2671", sms_opt_in="y").status_code == 303
    assert supporter() is None and sms_rows() == []
    link = confirm_link()
    assert client.get(link).status_code == 200
    assert client.post(link, environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 303
    person = supporter()
    assert person.phone == PHONE and person.sms_stopped_at is None
    # What was agreed on the form, and from where: not the confirming click's address.
    assert person.sms_consent_ip == CLIENT_IP
    assert person.sms_consent_text.startswith("By checking this box you agree to receive up to 5 texts")
    [rsvp] = db.session.scalars(sa.select(Rsvp)).all()
    assert rsvp.status == "going" and rsvp.supporter_id == person.id
    assert person.sms_opt_in_at <= rsvp.created_at  # when the box was ticked, not when the link was clicked
    [row] = sms_rows()
    assert (row.to_addr, row.kind, row.rsvp_id, row.status) == (PHONE, "sms_ticket", rsvp.id, "pending")
    assert row.render_params["reason"] == "going"
    # A second click changes nothing and texts nothing more.
    assert client.post(link).status_code == 303
    assert len(sms_rows()) == 1


def test_an_unconfirmed_rsvp_opts_no_one_in(client):
    rally = gated_rally()
    other = make_rally(rally.campaign, title="Earlier rally")
    # The mailbox's owner is a supporter already, without texts.
    assert post(client, other, phone="(415) 555-2671").status_code == 303
    assert supporter().sms_opt_in_at is None
    # Someone ticks the box under that address; nobody confirms.
    assert post(client, rally, phone="(415) 555-2671", sms_opt_in="y").status_code == 303
    person = supporter()
    assert (person.sms_opt_in_at, person.sms_consent_text, person.sms_consent_ip) == (None, "", "")
    assert sms_rows() == []


def test_consent_without_the_box_stays_off_after_confirming(client):
    rally = gated_rally()
    assert post(client, rally, phone="(415) 555-2671").status_code == 303
    assert client.post(confirm_link()).status_code == 303
    person = supporter()
    assert person.phone == PHONE and person.sms_opt_in_at is None and person.sms_consent_text == ""
    assert sms_rows() == []


def test_deleting_the_person_drops_a_waiting_consent(client):
    rally = gated_rally()
    other = make_rally(rally.campaign, title="Earlier rally")
    assert post(client, other).status_code == 303
    assert post(client, rally, phone="(415) 555-2671", sms_opt_in="y").status_code == 303
    link = confirm_link()
    supporter_service.delete_person(supporter())
    db.session.rollback()
    # The old link is dead (the token was replaced), and nothing of the consent is left to apply.
    assert client.post(link).status_code == 404
    assert db.session.scalars(sa.select(RsvpSmsConsent)).all() == []
    assert sms_rows() == []
