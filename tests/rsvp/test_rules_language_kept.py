"""The language of the page a supporter used follows their RSVP: a repeat's resend and a confirmation."""

from __future__ import annotations

from rallies.extensions import db
from rallies.models import Supporter
from rallies.rsvp.rsvps import RsvpInput, cancel_rsvp, create_or_update_rsvp, take_place
from tests.stored import outbox, stored_rsvp


def test_a_repeat_from_a_spanish_page_resends_the_link_in_spanish(make_rally, campaign):
    rally = make_rally(campaign, capacity=5)
    create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org"))
    again = create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org", locale="es"))
    assert again.outcome == "repeat"
    resend = outbox("confirmation", "ana@example.org")[-1]
    assert (resend.render_params["reason"], resend.render_params["locale"]) == ("resend", "es")


def test_confirming_from_a_spanish_page_makes_a_spanish_speaking_supporter(make_rally, campaign):
    rally = make_rally(campaign, capacity=5, confirm_by_email=True)
    pending = create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org", phone="+13125550123",
                                                     postal_code="60607"))
    assert (pending.outcome, stored_rsvp(pending.rsvp_id).supporter_id) == ("unconfirmed", None)
    confirmed = take_place(stored_rsvp(pending.rsvp_id), locale="es")
    assert confirmed.status == "going"
    supporter = db.session.get(Supporter, stored_rsvp(pending.rsvp_id).supporter_id)
    assert (supporter.email, supporter.name, supporter.phone, supporter.postal_code, supporter.locale) == (
        "ana@example.org", "Ana López", "+13125550123", "60607", "es")


def test_confirming_without_a_page_language_keeps_none(make_rally, campaign):
    rally = make_rally(campaign, capacity=5, confirm_by_email=True)
    pending = create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org"))
    take_place(stored_rsvp(pending.rsvp_id))
    assert db.session.get(Supporter, stored_rsvp(pending.rsvp_id).supporter_id).locale == ""


def test_coming_back_from_another_language_keeps_the_supporter_as_they_were(make_rally, campaign):
    rally = make_rally(campaign, capacity=5)
    first = create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org", postal_code="60607",
                                                   locale="en"))
    rsvp = stored_rsvp(first.rsvp_id)
    supporter_id = rsvp.supporter_id
    cancel_rsvp(rsvp, notify=False)
    back = take_place(stored_rsvp(first.rsvp_id), locale="es")
    assert (back.status, back.supporter_id) == ("going", supporter_id)
    supporter = db.session.get(Supporter, supporter_id)
    db.session.refresh(supporter)
    assert (supporter.locale, supporter.postal_code) == ("en", "60607")
