"""Capacity: a rally is never oversold, an exact fit is going, and no capacity means no limit."""

from __future__ import annotations

from tests.factories import quick_rsvp
from tests.stored import counts_from_rows, statuses, stored_counts, stored_rally


def test_exact_fit_is_going_and_one_more_waits(make_rally, campaign):
    rally = make_rally(campaign, capacity=3)
    full, outcome = quick_rsvp(rally, guests=2)
    assert outcome == "going"
    late, outcome = quick_rsvp(rally, guests=0)
    assert outcome == "waitlisted"
    assert statuses(full, late) == ["going", "waitlisted"]
    r = stored_rally(rally.id)
    assert (r.going_people, r.going_parties, r.guests_count) == (3, 1, 2)
    assert (r.waitlisted_people, r.waitlisted_parties) == (1, 1)


def test_a_party_larger_than_the_room_left_waits_while_a_smaller_one_fits(make_rally, campaign):
    rally = make_rally(campaign, capacity=4)
    quick_rsvp(rally, guests=2)
    pair, outcome = quick_rsvp(rally, guests=1)
    assert outcome == "waitlisted"
    single, outcome = quick_rsvp(rally, guests=0)
    assert outcome == "going"
    assert stored_rally(rally.id).going_people == 4
    assert statuses(pair, single) == ["waitlisted", "going"]


def test_never_oversold_over_many_rsvps(make_rally, campaign):
    rally = make_rally(campaign, capacity=7, max_guests=3)
    for guests in (3, 2, 1, 0, 3, 0, 2, 1, 0):
        quick_rsvp(rally, guests=guests)
    r = stored_rally(rally.id)
    assert r.going_people <= 7
    assert r.going_people == 7  # 4 + 2 + 1 fill it exactly; the rest wait
    assert stored_counts(rally.id) == counts_from_rows(rally.id)


def test_no_capacity_means_everyone_is_going(make_rally, campaign):
    rally = make_rally(campaign, capacity=None, max_guests=3)
    outcomes = [quick_rsvp(rally, guests=g)[1] for g in (3, 3, 3, 3, 3)]
    assert outcomes == ["going"] * 5
    r = stored_rally(rally.id)
    assert (r.going_people, r.going_parties, r.guests_count, r.waitlisted_parties) == (20, 5, 15, 0)


def test_capacity_zero_takes_nobody(make_rally, campaign):
    rally = make_rally(campaign, capacity=0)
    assert quick_rsvp(rally)[1] == "waitlisted"
    assert stored_rally(rally.id).going_people == 0
