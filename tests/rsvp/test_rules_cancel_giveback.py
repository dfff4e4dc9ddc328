"""Cancel and give-back: freed places promote the waitlist; a party already admitted frees nothing."""

from __future__ import annotations

import pytest

from rallies.door.checkin import check_in
from rallies.rsvp.rsvps import AlreadyInside, cancel_rsvp, change_guests
from rallies.rsvp.tickets import ticket_code
from tests.factories import door_session, live_fields, make_door, nonce, quick_rsvp
from tests.stored import counts_from_rows, statuses, stored_counts, stored_rally, stored_rsvp


def test_cancelling_a_going_party_promotes_the_waitlist(make_rally, campaign):
    rally = make_rally(campaign, capacity=2, max_guests=3)
    pair, _ = quick_rsvp(rally, guests=1)
    first, _ = quick_rsvp(rally)
    second, _ = quick_rsvp(rally)
    third, _ = quick_rsvp(rally)
    assert cancel_rsvp(stored_rsvp(pair), notify=False) is True
    assert statuses(pair, first, second, third) == ["cancelled", "going", "going", "waitlisted"]
    r = stored_rally(rally.id)
    assert (r.going_people, r.going_parties, r.cancelled_parties, r.waitlisted_parties) == (2, 2, 1, 1)
    assert stored_counts(rally.id) == counts_from_rows(rally.id)


def test_cancelling_twice_changes_nothing_the_second_time(make_rally, campaign):
    rally = make_rally(campaign, capacity=1)
    rsvp_id, _ = quick_rsvp(rally)
    assert cancel_rsvp(stored_rsvp(rsvp_id), notify=False) is True
    assert cancel_rsvp(stored_rsvp(rsvp_id), notify=False) is False
    r = stored_rally(rally.id)
    assert (r.going_people, r.going_parties, r.cancelled_parties) == (0, 0, 1)


def test_cancelling_a_waitlisted_party_promotes_no_one(make_rally, campaign):
    rally = make_rally(campaign, capacity=1)
    quick_rsvp(rally)
    first, _ = quick_rsvp(rally)
    second, _ = quick_rsvp(rally)
    cancel_rsvp(stored_rsvp(first), notify=False)
    assert statuses(first, second) == ["cancelled", "waitlisted"]
    r = stored_rally(rally.id)
    assert (r.going_people, r.waitlisted_people, r.waitlisted_parties, r.cancelled_parties) == (1, 1, 1, 1)


def test_admitted_party_frees_nothing(make_rally, campaign):
    rally = make_rally(campaign, **live_fields(capacity=2, max_guests=3))
    inside, _ = quick_rsvp(rally, guests=1)
    waiting, _ = quick_rsvp(rally)
    ctx, _secret, _link = door_session(make_door(rally))
    assert check_in(ticket_code(rally, inside), ctx, nonce=nonce(), people=1).admitted == 1
    with pytest.raises(AlreadyInside, match=r"^You're already inside: people of this party were admitted at the "
                                            r"door, so the RSVP can no longer be cancelled\. A door supervisor can help\.$"):
        cancel_rsvp(stored_rsvp(inside), notify=False)
    assert statuses(inside, waiting) == ["going", "waitlisted"]
    assert stored_rally(rally.id).going_people == 2


def test_shrinking_a_going_party_promotes_the_waitlist(make_rally, campaign):
    rally = make_rally(campaign, capacity=3, max_guests=3)
    family, _ = quick_rsvp(rally, guests=2)
    waiting, _ = quick_rsvp(rally)
    change_guests(stored_rsvp(family), 1)
    assert statuses(family, waiting) == ["going", "going"]
    r = stored_rally(rally.id)
    assert (r.going_people, r.guests_count, r.waitlisted_parties) == (3, 1, 0)


def test_shrinking_a_waitlisted_party_lets_it_in_when_it_now_fits(make_rally, campaign):
    rally = make_rally(campaign, capacity=2, max_guests=3)
    quick_rsvp(rally)
    family, _ = quick_rsvp(rally, guests=2)
    change_guests(stored_rsvp(family), 0)
    assert stored_rsvp(family).status == "going"
    assert stored_rally(rally.id).going_people == 2
    assert stored_counts(rally.id) == counts_from_rows(rally.id)


def test_cancelling_an_unconfirmed_rsvp_counts_one_cancellation_and_frees_nothing(make_rally, campaign):
    rally = make_rally(campaign, capacity=1, confirm_by_email=True)
    waiting, _ = quick_rsvp(rally)
    assert statuses(waiting) == ["unconfirmed"]
    assert cancel_rsvp(stored_rsvp(waiting), notify=False) is True
    r = stored_rally(rally.id)
    assert (r.going_people, r.going_parties, r.waitlisted_parties, r.cancelled_parties) == (0, 0, 0, 1)
    assert stored_counts(rally.id) == counts_from_rows(rally.id)


def test_a_cancelled_party_a_supervisor_let_in_stays_cancelled_without_an_error(make_rally, campaign):
    rally = make_rally(campaign, **live_fields(capacity=5))
    rsvp_id, _ = quick_rsvp(rally)
    assert cancel_rsvp(stored_rsvp(rsvp_id), notify=False)
    supervisor, _secret, _link = door_session(make_door(rally), role="supervisor")
    assert check_in(ticket_code(rally, rsvp_id), supervisor, nonce=nonce(), force=True).admitted == 1
    counts = stored_counts(rally.id)
    assert cancel_rsvp(stored_rsvp(rsvp_id), notify=False) is False
    assert stored_rsvp(rsvp_id).status == "cancelled" and stored_counts(rally.id) == counts


def test_cancelling_touches_only_its_own_rally(make_rally, campaign):
    rally = make_rally(campaign, capacity=2)
    other = make_rally(campaign, capacity=2)
    quick_rsvp(other)
    party, _ = quick_rsvp(rally)
    before = (stored_rally(other.id).updated_at, stored_rally(other.id).change_seq)
    assert cancel_rsvp(stored_rsvp(party), notify=False) is True
    assert (stored_rally(other.id).updated_at, stored_rally(other.id).change_seq) == before
    assert stored_counts(other.id) == counts_from_rows(other.id)
