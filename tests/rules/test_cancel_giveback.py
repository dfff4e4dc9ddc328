"""Cancel and give-back: freed places promote the waitlist; a party already admitted frees nothing."""

from __future__ import annotations

import pytest
from rulekit import live, nonce, rally_now, row, rsvp, statuses

from rallies.door.checkin import check_in
from rallies.rsvp.rsvps import AlreadyInside, cancel_rsvp, change_guests
from rallies.rsvp.tickets import ticket_code
from tests.factories import campaign_of, door_session, make_door
from tests.stored import counts_from_rows, stored_counts


@pytest.fixture
def campaign(make_user):
    return campaign_of(make_user())


def test_cancelling_a_going_party_promotes_the_waitlist(make_rally, campaign):
    rally = make_rally(campaign, capacity=2, max_guests=3)
    pair, _ = rsvp(rally, guests=1)
    first, _ = rsvp(rally)
    second, _ = rsvp(rally)
    third, _ = rsvp(rally)
    assert cancel_rsvp(row(pair), notify=False) is True
    assert statuses(pair, first, second, third) == ["cancelled", "going", "going", "waitlisted"]
    r = rally_now(rally.id)
    assert (r.going_people, r.going_parties, r.cancelled_parties, r.waitlisted_parties) == (2, 2, 1, 1)
    assert stored_counts(rally.id) == counts_from_rows(rally.id)


def test_cancelling_twice_changes_nothing_the_second_time(make_rally, campaign):
    rally = make_rally(campaign, capacity=1)
    rsvp_id, _ = rsvp(rally)
    assert cancel_rsvp(row(rsvp_id), notify=False) is True
    assert cancel_rsvp(row(rsvp_id), notify=False) is False
    r = rally_now(rally.id)
    assert (r.going_people, r.going_parties, r.cancelled_parties) == (0, 0, 1)


def test_cancelling_a_waitlisted_party_promotes_no_one(make_rally, campaign):
    rally = make_rally(campaign, capacity=1)
    rsvp(rally)
    first, _ = rsvp(rally)
    second, _ = rsvp(rally)
    cancel_rsvp(row(first), notify=False)
    assert statuses(first, second) == ["cancelled", "waitlisted"]
    r = rally_now(rally.id)
    assert (r.going_people, r.waitlisted_people, r.waitlisted_parties, r.cancelled_parties) == (1, 1, 1, 1)


def test_admitted_party_frees_nothing(make_rally, campaign):
    rally = make_rally(campaign, **live(capacity=2, max_guests=3))
    inside, _ = rsvp(rally, guests=1)
    waiting, _ = rsvp(rally)
    ctx, _secret, _link = door_session(make_door(rally))
    assert check_in(ticket_code(rally, inside), ctx, nonce=nonce(), people=1).admitted == 1
    with pytest.raises(AlreadyInside, match=r"^You're already inside: people of this party were admitted at the "
                                            r"door, so the RSVP can no longer be cancelled\. A door supervisor can help\.$"):
        cancel_rsvp(row(inside), notify=False)
    assert statuses(inside, waiting) == ["going", "waitlisted"]
    assert rally_now(rally.id).going_people == 2


def test_shrinking_a_going_party_promotes_the_waitlist(make_rally, campaign):
    rally = make_rally(campaign, capacity=3, max_guests=3)
    family, _ = rsvp(rally, guests=2)
    waiting, _ = rsvp(rally)
    change_guests(row(family), 1)
    assert statuses(family, waiting) == ["going", "going"]
    r = rally_now(rally.id)
    assert (r.going_people, r.guests_count, r.waitlisted_parties) == (3, 1, 0)


def test_shrinking_a_waitlisted_party_lets_it_in_when_it_now_fits(make_rally, campaign):
    rally = make_rally(campaign, capacity=2, max_guests=3)
    rsvp(rally)
    family, _ = rsvp(rally, guests=2)
    change_guests(row(family), 0)
    assert row(family).status == "going"
    assert rally_now(rally.id).going_people == 2
    assert stored_counts(rally.id) == counts_from_rows(rally.id)
