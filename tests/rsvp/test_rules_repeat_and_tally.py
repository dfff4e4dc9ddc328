"""A mailbox RSVPs once per rally (a repeat re-sends its link at most once a window), and the tally reads the counters."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from rallies.database import atomic
from rallies.extensions import db
from rallies.models import Rsvp, utcnow
from rallies.rsvp.notices import SUBJECTS
from rallies.rsvp.rsvps import RsvpError, RsvpInput, create_or_update_rsvp, record_reminder_answer
from rallies.turnout.tallies import rally_tally
from tests.stored import outbox, stored_rally, stored_rsvp


def test_a_repeat_changes_nothing_and_resends_once_per_window(app, make_rally, campaign):
    rally = make_rally(campaign, capacity=5, max_guests=3)
    first = create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org", guests=1))
    sent = len(outbox(to="ana@example.org"))
    again = create_or_update_rsvp(rally, RsvpInput(name="Someone Else", email="ANA@example.org", guests=3))
    assert (again.outcome, again.rsvp_id, again.token) == ("repeat", first.rsvp_id, "")
    assert (stored_rsvp(first.rsvp_id).name, stored_rsvp(first.rsvp_id).guests) == ("Ana López", 1)
    assert stored_rally(rally.id).going_people == 2
    assert len(outbox(to="ana@example.org")) == sent + 1
    assert outbox(to="ana@example.org")[-1].subject == SUBJECTS["resend"].format(title=rally.title)
    create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org"))
    assert len(outbox(to="ana@example.org")) == sent + 1  # within the window: no second resend
    minutes = app.config.get("RSVP_RESEND_MINUTES", 10)
    with atomic():
        db.session.execute(sa.update(Rsvp).where(Rsvp.id == first.rsvp_id)
                           .values(ticket_resent_at=utcnow() - timedelta(minutes=minutes, seconds=5)))
    create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org"))
    assert len(outbox(to="ana@example.org")) == sent + 2


def test_an_organizer_add_updates_the_mailboxs_rsvp(make_rally, campaign):
    rally = make_rally(campaign, capacity=3, max_guests=3)
    first = create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org"))
    updated = create_or_update_rsvp(rally, RsvpInput(name="Ana María López", email="ana@example.org", guests=1,
                                                     phone="555-0100", postal_code="60607", opt_in=True),
                                    by_organizer=True)
    assert (updated.outcome, updated.rsvp_id) == ("updated", first.rsvp_id)
    r = stored_rsvp(first.rsvp_id)
    assert (r.name, r.guests, r.phone, r.postal_code, r.opt_in, r.door_name) == (
        "Ana María López", 1, "555-0100", "60607", True, "Ana L.")
    too_big = create_or_update_rsvp(rally, RsvpInput(name="Ana", email="ana@example.org", guests=3),
                                    by_organizer=True)
    assert too_big.note and stored_rsvp(first.rsvp_id).guests == 1
    assert stored_rally(rally.id).going_people == 2


def test_reminder_no_cancels_yes_keeps(make_rally, campaign):
    rally = make_rally(campaign, capacity=1)
    yes = create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org")).rsvp_id
    waiting = create_or_update_rsvp(rally, RsvpInput(name="Bo Li", email="bo@example.org")).rsvp_id
    assert record_reminder_answer(stored_rsvp(yes), "yes") == "yes"
    assert (stored_rsvp(yes).status, stored_rsvp(yes).reminder_answer) == ("going", "yes")
    with pytest.raises(RsvpError, match=r"^Unknown answer\.$"):
        record_reminder_answer(stored_rsvp(yes), "maybe")
    assert record_reminder_answer(stored_rsvp(yes), "no") == "no"
    assert (stored_rsvp(yes).status, stored_rsvp(yes).reminder_answer, stored_rsvp(waiting).status) == ("cancelled", "no", "going")


def test_tally_reads_every_counter(make_rally, campaign):
    rally = make_rally(campaign, capacity=20)
    with atomic():
        r = stored_rally(rally.id)
        (r.going_people, r.going_parties, r.guests_count, r.waitlisted_people, r.waitlisted_parties,
         r.cancelled_parties, r.checked_in_people, r.checked_in_rsvp_people, r.walkin_people,
         r.peak_rate_per_min) = (10, 6, 4, 3, 2, 1, 8, 5, 3, 7)
    t = rally_tally(stored_rally(rally.id))
    # going_people counts the 3 walk-ins too (they hold places): the tally reports the 7 who RSVPed.
    assert t.as_dict() == dict(going_people=7, going_parties=6, guests=4, waitlisted_people=3, waitlisted_parties=2,
                               cancelled_parties=1, checked_in_people=8, checked_in_rsvp_people=5, walkin_people=3,
                               peak_rate_per_min=7, capacity=20, show_up_rate=5 / 7, capacity_fill=0.4)


def test_a_new_rsvp_links_its_supporter_an_unconfirmed_one_only_on_confirming(make_rally, campaign):
    from rallies.models import Supporter
    from rallies.rsvp.rsvps import take_place

    rally = make_rally(campaign, capacity=None)
    first = create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org", phone="555-0100",
                                                   postal_code="60607"))
    other = create_or_update_rsvp(rally, RsvpInput(name="Bo Li", email="bo@example.org"))
    supporter = db.session.get(Supporter, stored_rsvp(first.rsvp_id).supporter_id)
    assert (supporter.campaign_id, supporter.email, supporter.name, supporter.phone, supporter.postal_code) == (
        campaign.id, "ana@example.org", "Ana López", "555-0100", "60607")
    assert stored_rsvp(other.rsvp_id).supporter_id not in (None, supporter.id)
    assert len(outbox(to="ana@example.org")) == 1
    assert rally.title in outbox(to="ana@example.org")[0].subject
    confirming = make_rally(campaign, capacity=None, confirm_by_email=True)
    pending = create_or_update_rsvp(confirming, RsvpInput(name="Cy Doe", email="cy@example.org", phone="555-0199",
                                                          postal_code="60614"))
    assert (pending.outcome, stored_rsvp(pending.rsvp_id).supporter_id) == ("unconfirmed", None)
    take_place(stored_rsvp(pending.rsvp_id))
    confirmed = db.session.get(Supporter, stored_rsvp(pending.rsvp_id).supporter_id)
    assert (confirmed.email, confirmed.name, confirmed.phone, confirmed.postal_code) == (
        "cy@example.org", "Cy Doe", "555-0199", "60614")


def test_a_repeat_exactly_one_window_after_the_last_resend_resends(app, monkeypatch, make_rally, campaign):
    rally = make_rally(campaign, capacity=5)
    first = create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org"))
    now = utcnow().replace(microsecond=0)
    monkeypatch.setattr("rallies.rsvp.rsvps.utcnow", lambda: now)  # a frozen clock: the boundary itself
    window = timedelta(minutes=app.config.get("RSVP_RESEND_MINUTES", 10))
    with atomic():
        db.session.execute(sa.update(Rsvp).where(Rsvp.id == first.rsvp_id).values(ticket_resent_at=now - window))
    sent = len(outbox(to="ana@example.org"))
    create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org"))
    assert len(outbox(to="ana@example.org")) == sent + 1
    assert stored_rsvp(first.rsvp_id).ticket_resent_at == now
