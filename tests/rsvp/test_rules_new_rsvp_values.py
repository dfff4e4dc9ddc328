"""What a new RSVP stores (rsvp/rsvps.py _new_values, _take_places): the columns the door, the
organizer's reports and exports read, and the rally's ticket keys made on its first RSVP."""

from __future__ import annotations

import sqlalchemy as sa

from rallies.database import atomic
from rallies.door.sync import sync_payload
from rallies.extensions import db
from rallies.models import Rally, Supporter
from rallies.rsvp.names import search_text
from rallies.rsvp.rsvps import RsvpInput, create_or_update_rsvp
from rallies.sms.consent import SmsConsent
from tests.stored import outbox, stored_rsvp


def rsvp(rally, **fields):
    fields.setdefault("name", "Ana María López")
    fields.setdefault("email", "ana@example.org")
    return stored_rsvp(create_or_update_rsvp(rally, RsvpInput(**fields)).rsvp_id)


def test_a_new_rsvp_is_found_by_name_at_the_door_and_is_no_walkin(make_rally, campaign):
    row = rsvp(make_rally(campaign))
    assert (row.search_name, row.door_name, row.is_walkin, row.reminder_answer) == (
        search_text("Ana María López"), "Ana L.", False, "")
    assert row.status_at == row.created_at == row.updated_at


def test_opting_in_is_dated_and_not_opting_in_is_not(make_rally, campaign):
    rally = make_rally(campaign)
    opted = rsvp(rally, opt_in=True)
    assert (opted.opt_in, opted.opt_in_at) == (True, opted.created_at)
    other = rsvp(rally, email="bo@example.org", name="Bo Li")
    assert (other.opt_in, other.opt_in_at) == (False, None)


def test_attribution_is_stored_cut_to_100_and_empty_when_absent(make_rally, campaign):
    rally = make_rally(campaign)
    tagged = rsvp(rally, utm={"source": "s" * 101, "medium": "m" * 101, "campaign": "c" * 101}, ref="r" * 101)
    assert (tagged.utm_source, tagged.utm_medium, tagged.utm_campaign, tagged.ref) == ("s" * 100, "m" * 100, "c" * 100,
                                                                                      "r" * 100)
    plain = rsvp(rally, email="bo@example.org", name="Bo Li")
    assert (plain.utm_source, plain.utm_medium, plain.utm_campaign, plain.ref) == ("", "", "", "")


def test_a_ticked_text_box_without_a_phone_opts_no_one_in(make_rally, campaign):
    row = rsvp(make_rally(campaign), sms_consent=SmsConsent("Text me.", "203.0.113.9"))
    assert db.session.get(Supporter, row.supporter_id).sms_opt_in_at is None
    assert [m for m in outbox() if m.kind == "sms_ticket"] == []


def test_the_first_rsvp_at_a_rally_without_keys_gives_it_its_ticket_keys(make_rally, campaign):
    rally = make_rally(campaign)
    with atomic():
        db.session.execute(sa.update(Rally).where(Rally.id == rally.id).values(signing_key=None, public_key=None))
    db.session.expire_all()
    rally = db.session.get(Rally, rally.id)
    assert rally.signing_key is None
    row = rsvp(rally)
    db.session.expire_all()
    assert db.session.get(Rally, rally.id).public_key  # the door can verify its ticket
    assert [t[0] for t in sync_payload(rally.id, 0, 0)["tickets"]] == [row.id]
