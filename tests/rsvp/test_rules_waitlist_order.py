"""Waitlist: promoted oldest first (status_at, then id), skipping parties that don't fit, never splitting one."""

from __future__ import annotations

from datetime import timedelta

from rallies.database import atomic
from rallies.models import utcnow
from rallies.rsvp.rsvps import cancel_rsvp, promote_waitlist, take_place
from tests.factories import quick_rsvp, set_status_at
from tests.stored import counts_from_rows, statuses, stored_counts, stored_rally, stored_rsvp


def free_places(rally_id: int, capacity: int) -> list:
    """Raise the capacity and promote, as the organizer's edit does; the parties promoted."""
    with atomic():
        rally = stored_rally(rally_id)
        rally.capacity = capacity
        return [r.id for r in promote_waitlist(rally)]


def one_waiting(make_rally, campaign):
    """A rally of 1, full, with one party on its waitlist: (rally, the waiting RSVP's id)."""
    rally = make_rally(campaign, capacity=1)
    quick_rsvp(rally)
    waiting, _ = quick_rsvp(rally)
    return rally, waiting


def test_oldest_status_at_first_not_lowest_id(make_rally, campaign):
    rally = make_rally(campaign, capacity=1)
    quick_rsvp(rally)
    a, _ = quick_rsvp(rally)
    b, _ = quick_rsvp(rally)
    c, _ = quick_rsvp(rally)
    now = utcnow()
    set_status_at(a, now - timedelta(minutes=1))
    set_status_at(b, now - timedelta(minutes=3))
    set_status_at(c, now - timedelta(minutes=2))
    assert free_places(rally.id, 2) == [b]
    assert free_places(rally.id, 3) == [c]
    assert free_places(rally.id, 4) == [a]


def test_same_status_at_goes_by_id(make_rally, campaign):
    rally = make_rally(campaign, capacity=1)
    quick_rsvp(rally)
    ids = [quick_rsvp(rally)[0] for _ in range(3)]
    moment = utcnow() - timedelta(minutes=5)
    for rsvp_id in reversed(ids):
        set_status_at(rsvp_id, moment)
    assert free_places(rally.id, 2) == [ids[0]]
    assert free_places(rally.id, 4) == ids[1:]


def test_rejoining_goes_to_the_end_of_the_waitlist(make_rally, campaign):
    rally = make_rally(campaign, capacity=1)
    quick_rsvp(rally)
    first, _ = quick_rsvp(rally)
    second, _ = quick_rsvp(rally)
    cancel_rsvp(stored_rsvp(first), notify=False)
    take_place(stored_rsvp(first))  # back, but behind `second`
    assert stored_rsvp(first).status == "waitlisted"
    assert free_places(rally.id, 2) == [second]


def test_big_party_that_does_not_fit_does_not_block_smaller_ones(make_rally, campaign):
    rally = make_rally(campaign, capacity=2, max_guests=3)
    one, _ = quick_rsvp(rally)
    quick_rsvp(rally)
    big, _ = quick_rsvp(rally, guests=2)
    small, _ = quick_rsvp(rally)
    assert statuses(big, small) == ["waitlisted", "waitlisted"]
    cancel_rsvp(stored_rsvp(one), notify=False)  # one place free: the party of 3 is skipped, not split
    assert statuses(big, small) == ["waitlisted", "going"]
    assert stored_rsvp(big).guests == 2
    r = stored_rally(rally.id)
    assert (r.going_people, r.waitlisted_people, r.waitlisted_parties) == (2, 3, 1)
    assert stored_counts(rally.id) == counts_from_rows(rally.id)


def test_promotion_stops_when_full_and_skips_in_between(make_rally, campaign):
    rally = make_rally(campaign, capacity=1, max_guests=3)
    quick_rsvp(rally)
    pair, _ = quick_rsvp(rally, guests=1)
    four, _ = quick_rsvp(rally, guests=3)
    single, _ = quick_rsvp(rally)
    other, _ = quick_rsvp(rally)
    promoted = free_places(rally.id, 4)  # three places: the pair, then the four are skipped, then one single
    assert promoted == [pair, single]
    assert statuses(pair, four, single, other) == ["going", "waitlisted", "going", "waitlisted"]
    assert stored_rally(rally.id).going_people == 4
    assert stored_counts(rally.id) == counts_from_rows(rally.id)


def test_no_capacity_promotes_everyone(make_rally, campaign):
    rally = make_rally(campaign, capacity=1, max_guests=3)
    quick_rsvp(rally)
    waiting = [quick_rsvp(rally, guests=g)[0] for g in (3, 0, 2)]
    with atomic():
        r = stored_rally(rally.id)
        r.capacity = None
        assert [p.id for p in promote_waitlist(r)] == waiting
    assert stored_rally(rally.id).going_people == 1 + 4 + 1 + 3


def test_full_rally_promotes_no_one(make_rally, campaign):
    rally, waiting = one_waiting(make_rally, campaign)
    assert free_places(rally.id, 1) == []
    assert stored_rsvp(waiting).status == "waitlisted"


def test_cancelled_rally_promotes_no_one(make_rally, campaign):
    rally, waiting = one_waiting(make_rally, campaign)
    with atomic():
        r = stored_rally(rally.id)
        r.status, r.capacity = "cancelled", 5
        assert promote_waitlist(r) == []
    assert stored_rsvp(waiting).status == "waitlisted"


def test_a_party_that_no_longer_fits_after_an_earlier_promotion_is_skipped(make_rally, campaign):
    rally = make_rally(campaign, capacity=1, max_guests=3)
    quick_rsvp(rally)
    first_pair, _ = quick_rsvp(rally, guests=1)
    second_pair, _ = quick_rsvp(rally, guests=1)
    single, _ = quick_rsvp(rally)
    # Three places: each party alone would fit; after the first pair, the second no longer does.
    assert free_places(rally.id, 4) == [first_pair, single]
    assert statuses(first_pair, second_pair, single) == ["going", "waitlisted", "going"]
    assert stored_counts(rally.id) == counts_from_rows(rally.id)


def test_promotion_takes_only_this_rallys_waitlist(make_rally, campaign):
    other, elsewhere = one_waiting(make_rally, campaign)
    rally, here = one_waiting(make_rally, campaign)
    assert free_places(rally.id, 5) == [here]
    assert statuses(elsewhere) == ["waitlisted"]
    assert stored_counts(other.id) == counts_from_rows(other.id)
    assert stored_counts(rally.id) == counts_from_rows(rally.id)


def test_a_full_rally_or_an_empty_waitlist_uses_no_change_number(make_rally, campaign):
    """Nothing can be promoted: the rally's door-sync change number is left as it was."""
    full, waiting = one_waiting(make_rally, campaign)
    open_ = make_rally(campaign, capacity=5)
    quick_rsvp(open_)
    before = (stored_rally(full.id).change_seq, stored_rally(open_.id).change_seq)
    assert free_places(full.id, 1) == []
    assert free_places(open_.id, 5) == []
    assert (stored_rally(full.id).change_seq, stored_rally(open_.id).change_seq) == before
    assert statuses(waiting) == ["waitlisted"]
