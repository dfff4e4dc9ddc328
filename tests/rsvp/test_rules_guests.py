"""Guests: the services themselves enforce the rally's max_guests, and a party never shrinks below who is inside."""

from __future__ import annotations

import pytest

from rallies.database import atomic
from rallies.door.checkin import check_in
from rallies.models import Rsvp
from rallies.rsvp.rsvps import (
    AlreadyInside,
    NotEnoughRoom,
    RsvpError,
    RsvpInput,
    cancel_rsvp,
    change_guests,
    create_or_update_rsvp,
    take_place,
)
from rallies.rsvp.tickets import ticket_code
from tests.factories import door_session, live_fields, make_door, nonce, quick_rsvp
from tests.stored import stored_rally, stored_rsvp


@pytest.mark.parametrize("guests", [3, 4, 50, -1])
def test_new_rsvp_refuses_guests_outside_the_rally_limit(make_rally, campaign, guests):
    rally = make_rally(campaign, capacity=None, max_guests=2)
    with pytest.raises(RsvpError):
        create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org", guests=guests))
    assert stored_rally(rally.id).going_people == 0


def test_new_rsvp_takes_exactly_max_guests(make_rally, campaign):
    rally = make_rally(campaign, capacity=None, max_guests=2)
    rsvp_id, outcome = quick_rsvp(rally, guests=2)
    assert outcome == "going" and stored_rsvp(rsvp_id).guests == 2


def test_organizer_add_is_held_to_max_guests_too(make_rally, campaign):
    rally = make_rally(campaign, capacity=None, max_guests=1)
    with pytest.raises(RsvpError):
        create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana@example.org", guests=2), by_organizer=True)


@pytest.mark.parametrize("guests", [3, 9, -1])
def test_change_guests_refuses_outside_the_rally_limit(make_rally, campaign, guests):
    rally = make_rally(campaign, capacity=None, max_guests=2)
    rsvp_id, _ = quick_rsvp(rally, guests=0)
    with pytest.raises(RsvpError, match=r"^You can bring between 0 and 2 guests\.$"):
        change_guests(stored_rsvp(rsvp_id), guests)
    assert stored_rsvp(rsvp_id).guests == 0
    assert stored_rally(rally.id).going_people == 1


def test_change_guests_up_to_the_limit_moves_the_counters(make_rally, campaign):
    rally = make_rally(campaign, capacity=None, max_guests=2)
    rsvp_id, _ = quick_rsvp(rally, guests=0)
    change_guests(stored_rsvp(rsvp_id), 2)
    assert stored_rsvp(rsvp_id).guests == 2
    r = stored_rally(rally.id)
    assert (r.going_people, r.guests_count, r.going_parties) == (3, 2, 1)


def test_growing_a_party_never_oversells(make_rally, campaign):
    rally = make_rally(campaign, capacity=3, max_guests=3)
    rsvp_id, _ = quick_rsvp(rally, guests=0)
    quick_rsvp(rally, guests=0)
    with pytest.raises(NotEnoughRoom):
        change_guests(stored_rsvp(rsvp_id), 2)
    assert stored_rsvp(rsvp_id).guests == 0
    change_guests(stored_rsvp(rsvp_id), 1)  # exactly fills it
    assert stored_rally(rally.id).going_people == 3


def test_a_waitlisted_party_may_grow_and_stays_waitlisted(make_rally, campaign):
    rally = make_rally(campaign, capacity=1, max_guests=3)
    quick_rsvp(rally)
    waiting, _ = quick_rsvp(rally)
    change_guests(stored_rsvp(waiting), 3)
    r = stored_rally(rally.id)
    assert stored_rsvp(waiting).status == "waitlisted"
    assert (r.waitlisted_people, r.going_people) == (4, 1)


def test_party_cannot_shrink_below_people_admitted(make_rally, campaign):
    rally = make_rally(campaign, **live_fields(capacity=None, max_guests=3))
    rsvp_id, _ = quick_rsvp(rally, guests=2)
    ctx, _secret, _link = door_session(make_door(rally))
    assert check_in(ticket_code(rally, rsvp_id), ctx, nonce=nonce(), people=2).admitted == 2
    with pytest.raises(AlreadyInside, match=r"^2 of your party are already inside, so your party cannot be "
                                            r"smaller than 2\.$"):
        change_guests(stored_rsvp(rsvp_id), 0)
    assert stored_rsvp(rsvp_id).guests == 2
    change_guests(stored_rsvp(rsvp_id), 1)  # exactly the two inside
    assert stored_rsvp(rsvp_id).guests == 1
    assert stored_rally(rally.id).going_people == 2


def test_rejoining_is_clamped_to_the_current_limit(make_rally, campaign):
    rally = make_rally(campaign, capacity=None, max_guests=3)
    rsvp_id, _ = quick_rsvp(rally, guests=3)
    cancel_rsvp(stored_rsvp(rsvp_id), notify=False)
    with atomic():
        stored_rally(rally.id).max_guests = 1
    take_place(stored_rsvp(rsvp_id))
    assert (stored_rsvp(rsvp_id).status, stored_rsvp(rsvp_id).guests) == ("going", 1)
    assert stored_rally(rally.id).going_people == 2


def test_cancelled_rsvp_cannot_change_guests(make_rally, campaign):
    rally = make_rally(campaign, capacity=None)
    rsvp_id, _ = quick_rsvp(rally)
    cancel_rsvp(stored_rsvp(rsvp_id), notify=False)
    with pytest.raises(RsvpError):
        change_guests(stored_rsvp(rsvp_id), 1)
    assert isinstance(stored_rsvp(rsvp_id), Rsvp) and stored_rsvp(rsvp_id).guests == 0
