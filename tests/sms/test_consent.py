"""Opting in at RSVP, through the real form: unticked by default, consent stored word for word, bad numbers refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from rallies.extensions import db
from rallies.models import OutboxMessage, Rsvp, Supporter
from rallies.sms.consent import InvalidPhone, normalise_phone

CLIENT_IP = "203.0.113.9"


def post(client, rally, **fields):
    data = {"name": "Ana López", "email": "ana@example.org", "guests": "0", **fields}
    return client.post(f"/r/{rally.slug}/rsvp", data=data, environ_base={"REMOTE_ADDR": CLIENT_IP})


def supporters():
    db.session.rollback()
    return db.session.scalars(sa.select(Supporter)).all()


def sms_rows():
    db.session.rollback()
    return db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "sms")).all()


@pytest.mark.parametrize(("raw", "e164"), [("(415) 555-2671", "+14155552671"), ("415.555.2671", "+14155552671"),
                                           ("+44 20 7946 0958", "+442079460958"), ("1-415-555-2671", "+14155552671")])
def test_phone_numbers_are_stored_as_e164(app, raw, e164):
    assert normalise_phone(raw, "US") == e164


@pytest.mark.parametrize("raw", ["555", "not a number", "+1 415 555", ""])
def test_invalid_numbers_are_refused(app, raw):
    with pytest.raises(InvalidPhone):
        normalise_phone(raw, "US")


def test_the_box_is_unticked_and_the_consent_is_shown_beside_it(client, rally):
    page = client.get(f"/r/{rally.slug}/rsvp").get_data(as_text=True)
    box = page[page.index('name="sms_opt_in"') - 80:page.index('name="sms_opt_in"') + 80]
    assert 'type="checkbox"' in box and "checked" not in box
    assert "Text me updates about this rally" in page
    assert ("By checking this box you agree to receive up to 5 texts about this rally from Test campaign. "
            "Msg &amp; data rates may apply. Reply STOP to stop, HELP for help.") in page


def test_ticking_the_box_stores_the_consent_as_shown_with_time_and_address(client, rally):
    shown = client.get(f"/r/{rally.slug}/rsvp").get_data(as_text=True)
    response = post(client, rally, phone="(415) 555-2671", sms_opt_in="y")
    assert response.status_code == 303
    [supporter] = supporters()
    assert supporter.phone == "+14155552671"
    assert supporter.sms_opt_in_at is not None and supporter.sms_stopped_at is None
    assert supporter.sms_consent_ip == CLIENT_IP
    assert supporter.sms_consent_text.replace("&", "&amp;") in shown
    assert supporter.sms_consent_text.startswith("By checking this box you agree to receive up to 5 texts")
    [row] = sms_rows()
    assert (row.to_addr, row.kind, row.render_as, row.status) == ("+14155552671", "sms_ticket", "sms", "pending")


def test_a_phone_without_the_box_gets_no_texts(client, rally):
    assert post(client, rally, phone="(415) 555-2671").status_code == 303
    [supporter] = supporters()
    assert supporter.phone == "+14155552671" and supporter.sms_opt_in_at is None and supporter.sms_consent_text == ""
    assert sms_rows() == []


@pytest.mark.parametrize(("phone", "message"), [
    ("call me", "Enter a valid phone number"), ("(415) 555-267", "doesn&#39;t look right"),
    ("", "Enter your mobile number so we can text you"),
])
def test_a_bad_or_missing_number_with_the_box_ticked_writes_nothing(client, rally, phone, message):
    response = post(client, rally, phone=phone, sms_opt_in="y")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert supporters() == [] and db.session.scalars(sa.select(Rsvp)).all() == []
    assert db.session.scalars(sa.select(OutboxMessage)).all() == []


def test_a_new_consent_lifts_an_earlier_stop_and_a_later_rsvp_without_it_keeps_it(client, rally, make_rally):
    from rallies.sms import optout

    post(client, rally, phone="(415) 555-2671", sms_opt_in="y")
    optout.stop("+14155552671")
    [supporter] = supporters()
    assert supporter.sms_stopped_at is not None
    other = make_rally(db.session.get(type(rally.campaign), rally.campaign_id))
    assert post(client, other, phone="(415) 555-2671", sms_opt_in="y").status_code == 303
    [supporter] = supporters()
    assert supporter.sms_stopped_at is None
    third = make_rally(db.session.get(type(rally.campaign), rally.campaign_id))
    assert post(client, third).status_code == 303
    [supporter] = supporters()
    assert supporter.sms_opt_in_at is not None and supporter.sms_consent_ip == CLIENT_IP


def test_the_consent_is_in_the_data_export_and_gone_after_deletion(client, rally):
    from rallies.rsvp.supporters import delete_person, export_person

    post(client, rally, phone="(415) 555-2671", sms_opt_in="y")
    [supporter] = supporters()
    exported = export_person(supporter)["supporter"]
    assert exported["sms_consent_ip"] == CLIENT_IP and exported["sms_consent_text"].startswith("By checking")
    assert ("sms_ticket", "sms") in {(m["kind"], m["channel"]) for m in export_person(supporter)["emails"]}
    delete_person(supporter)
    [supporter] = supporters()
    assert (supporter.phone, supporter.sms_consent_text, supporter.sms_consent_ip, supporter.sms_opt_in_at) == (
        "", "", "", None)
    assert sms_rows() == []


def test_opting_in_costs_the_rsvp_one_statement_its_text(rally):
    """The consent rides on the supporter upsert the RSVP already runs; only the ticket text is one more INSERT."""
    from rallies.rsvp.rsvps import RsvpInput, create_or_update_rsvp
    from rallies.sms.consent import SmsConsent
    from tests.stored import statements_sent

    assert rally.signing_key
    statements = statements_sent(lambda: create_or_update_rsvp(rally, RsvpInput(
        name="Ana López", email="ana.sms@example.org", phone="+14155552671",
        sms_consent=SmsConsent("I agree", CLIENT_IP))))
    assert statements == ["update rally set", "update rally set", "insert into supporter", "insert into rsvp",
                          "insert into outbox_message", "insert into outbox_message"]
    [supporter] = supporters()
    assert supporter.sms_consent_text == "I agree" and supporter.sms_opt_in_at is not None
