"""An organizer adds a mailbox already on the list: the RSVP is updated (a cancelled one rejoins), the
ticket is re-sent as "updated", and the answer carries the RSVP's page token and email."""

from __future__ import annotations

from rallies.rsvp.lookups import rsvp_by_token
from rallies.rsvp.names import search_text
from rallies.rsvp.notices import SUBJECTS
from rallies.rsvp.rsvps import RsvpInput, cancel_rsvp, create_or_update_rsvp
from tests.stored import outbox, stored_rally, stored_rsvp


def organizer_add(rally, **fields):
    fields.setdefault("email", "ana@example.org")
    fields.setdefault("name", "Ana López")
    return create_or_update_rsvp(rally, RsvpInput(**fields), by_organizer=True)


def test_an_update_answers_with_the_page_token_and_email_and_resends_as_updated(make_rally, campaign):
    rally = make_rally(campaign, capacity=5)
    first = create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org"))
    updated = organizer_add(rally, name="Ana María López", email="Ana@Example.org")
    assert (updated.rsvp_id, updated.outcome, updated.note) == (first.rsvp_id, "updated", "")
    assert updated.email == "ana@example.org"
    assert rsvp_by_token(updated.token).id == first.rsvp_id
    assert stored_rsvp(first.rsvp_id).search_name == search_text("Ana María López") != search_text("Ana López")
    last = outbox(to="ana@example.org")[-1]
    assert last.subject == SUBJECTS["updated"].format(title=rally.title)
    assert last.render_params["reason"] == "updated"


def test_an_update_never_opts_a_supporter_in_and_keeps_an_earlier_opt_in(make_rally, campaign):
    rally = make_rally(campaign, capacity=5)
    out = create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org")).rsvp_id
    organizer_add(rally, opt_in=False)
    assert (stored_rsvp(out).opt_in, stored_rsvp(out).opt_in_at) == (False, None)
    opted = create_or_update_rsvp(rally, RsvpInput(name="Bo Li", email="bo@example.org", opt_in=True)).rsvp_id
    when = stored_rsvp(opted).opt_in_at
    organizer_add(rally, name="Bo Li", email="bo@example.org", opt_in=True)
    assert (stored_rsvp(opted).opt_in, stored_rsvp(opted).opt_in_at) == (True, when)


def test_a_cancelled_rsvp_rejoins_with_the_guests_asked_for(make_rally, campaign):
    rally = make_rally(campaign, capacity=5, max_guests=3)
    first = create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org"))
    assert cancel_rsvp(stored_rsvp(first.rsvp_id), notify=False)
    back = organizer_add(rally, guests=2)
    assert (back.rsvp_id, back.outcome, back.note) == (first.rsvp_id, "rejoined", "")
    assert (stored_rsvp(first.rsvp_id).status, stored_rsvp(first.rsvp_id).guests) == ("going", 2)
    now = stored_rally(rally.id)
    assert (now.going_people, now.going_parties, now.guests_count, now.cancelled_parties) == (3, 1, 2, 0)


def test_a_cancelled_rsvp_rejoins_at_the_end_of_the_waitlist_when_full(make_rally, campaign):
    rally = make_rally(campaign, capacity=1)
    first = create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org"))
    assert cancel_rsvp(stored_rsvp(first.rsvp_id), notify=False)
    create_or_update_rsvp(rally, RsvpInput(name="Bo Li", email="bo@example.org"))
    back = organizer_add(rally, guests=1)
    assert (back.outcome, stored_rsvp(first.rsvp_id).status, stored_rsvp(first.rsvp_id).guests) == ("rejoined", "waitlisted", 1)
    now = stored_rally(rally.id)
    assert (now.going_people, now.waitlisted_people, now.waitlisted_parties, now.cancelled_parties) == (1, 2, 1, 0)


def test_a_party_too_big_for_the_room_keeps_its_size_and_says_why(make_rally, campaign):
    rally = make_rally(campaign, capacity=2, max_guests=3)
    first = create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org"))
    too_big = organizer_add(rally, guests=3)
    assert (too_big.outcome, stored_rsvp(first.rsvp_id).guests) == ("updated", 0)
    assert too_big.note == "There is room for 1 more person only, so your party stays at 1."


def test_the_room_left_is_counted_in_people_with_its_plural(make_rally, campaign):
    rally = make_rally(campaign, capacity=4, max_guests=5)
    first = create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org"))
    too_big = organizer_add(rally, guests=5)
    assert (too_big.outcome, stored_rsvp(first.rsvp_id).guests) == ("updated", 0)
    assert too_big.note == "There is room for 3 more people only, so your party stays at 1."


def test_an_add_of_a_mailbox_new_here_inserts_it_at_this_rally_only(make_rally, campaign):
    first = make_rally(campaign, capacity=5)
    elsewhere = create_or_update_rsvp(first, RsvpInput(name="Ana López", email="ana@example.org"))
    rally = make_rally(campaign, capacity=5)
    bo = create_or_update_rsvp(rally, RsvpInput(name="Bo Li", email="bo@example.org")).rsvp_id
    added = organizer_add(rally, guests=1)
    assert added.rsvp_id not in (elsewhere.rsvp_id, bo) and added.outcome == "going"
    assert (stored_rsvp(added.rsvp_id).rally_id, stored_rsvp(added.rsvp_id).guests) == (rally.id, 1)
    assert stored_rsvp(elsewhere.rsvp_id).guests == 0
    assert (stored_rsvp(bo).name, stored_rsvp(bo).guests) == ("Bo Li", 0)
    assert (stored_rally(rally.id).going_people, stored_rally(first.id).going_people) == (3, 1)


def test_adds_without_an_email_are_separate_rsvps(make_rally, campaign):
    rally = make_rally(campaign, capacity=5)
    added = [organizer_add(rally, name=name, email="") for name in ("Bo Li", "Cy Doe")]
    assert [a.outcome for a in added] == ["going", "going"]
    assert added[0].rsvp_id != added[1].rsvp_id
    assert stored_rally(rally.id).going_parties == 2
