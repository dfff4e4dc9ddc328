"""The occupancy curve and the over-limit report (issue 14): from the scan times, once offline doors synced."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rallies.door.checkin import check_in
from rallies.door.exits import check_out
from rallies.extensions import db
from rallies.models import Rally, utcnow
from rallies.rallies.counters import minute_of
from rallies.turnout import tallies
from tests.factories import at_door, campaign_of, make_ticket, nonce


@pytest.fixture
def went_over(make_user):
    """A venue of 2: an offline door let 4 in, then 2 left, then 1 more came: over twice."""
    user = make_user()
    door = at_door(campaign_of(user), capacity=None, max_guests=3, safe_capacity=2)
    t0 = minute_of(utcnow() - timedelta(minutes=4)) + timedelta(seconds=10)
    tickets = [make_ticket(door.rally, name=f"Person {i}")[1] for i in range(5)]

    def offline(when, code, leave=False):
        scan = check_out if leave else check_in
        verdict = scan(code, door.scanner, nonce=nonce(), client_time=t0 + timedelta(minutes=when), offline=True,
                       online=False)
        assert verdict.verdict == ("exit" if leave else "admit") and not verdict.flags["clock"]

    offline(0, tickets[0])
    offline(0, tickets[1])
    offline(1, tickets[2])  # 3: over by 1
    offline(2, tickets[3])  # 4: over by 2
    offline(3, tickets[0], leave=True)
    offline(3, tickets[1], leave=True)  # 2: at the limit, not over
    offline(5, tickets[4])  # 3: over by 1
    return user, door, minute_of(t0)


def test_over_limit_times_and_by_how_much(went_over):
    _user, door, start = went_over
    rally = db.session.get(Rally, door.rally.id)
    curve = tallies.arrival_curve(rally)
    occupancy = tallies.occupancy(rally, curve.minutes)
    assert curve.minutes[0] == start and len(curve.minutes) == 6
    assert occupancy.venue == [2, 3, 4, 2, 2, 3] and occupancy.peak == 4
    assert [(o.start - start, o.end - start, o.peak, o.over_by) for o in occupancy.over_limit] == [
        (timedelta(minutes=1), timedelta(minutes=2), 4, 2), (timedelta(minutes=5), timedelta(minutes=5), 3, 1)]


def test_dashboard_shows_inside_now_and_the_over_limit_report(went_over, client, login):
    user, door, _start = went_over
    login(client, user)
    page = client.get(f"/turnout/rallies/{door.rally.id}/").get_data(as_text=True)
    assert "Inside now: <strong>3</strong>" in page and "(safe capacity 2)" in page
    assert "Times the venue was over its safe capacity" in page and 'id="occupancy-chart"' in page
    data = client.get(f"/turnout/api/rallies/{door.rally.id}").get_json()["occupancy"]
    assert data["venue"] == [2, 3, 4, 2, 2, 3] and data["safe_capacity"] == 2 and data["inside_now"] == 3
    assert [(o["peak"], o["over_by"]) for o in data["over_limit"]] == [(4, 2), (3, 1)]


def test_overflow_people_are_not_the_venues(make_user):
    door = at_door(campaign_of(make_user()), capacity=None, safe_capacity=1, overflow_name="Lawn")
    for i in range(3):
        check_in(make_ticket(door.rally, name=f"P {i}")[1], door.scanner, nonce=nonce())
    rally = db.session.get(Rally, door.rally.id)
    occupancy = tallies.occupancy(rally, tallies.arrival_curve(rally).minutes)
    assert (occupancy.venue[-1], occupancy.overflow[-1], occupancy.over_limit) == (1, 2, [])


def test_a_reentry_counts_in_the_venue_again(make_user):
    door = at_door(campaign_of(make_user()), capacity=None, safe_capacity=10)
    t0 = minute_of(utcnow() - timedelta(minutes=4)) + timedelta(seconds=10)
    _rsvp, code = make_ticket(door.rally, guests=1)
    for minute, scan, people in ((0, check_in, None), (1, check_out, 2), (2, check_in, 1)):
        verdict = scan(code, door.scanner, nonce=nonce(), client_time=t0 + timedelta(minutes=minute), offline=True,
                       online=False, people=people)
        assert not verdict.flags["clock"]
    rally = db.session.get(Rally, door.rally.id)
    occupancy = tallies.occupancy(rally, tallies.arrival_curve(rally).minutes)
    assert occupancy.venue == [2, 0, 1] and occupancy.peak == 2


def test_the_curve_carries_both_areas_minute_by_minute(make_user):
    """Over from the first minute; the overflow area fills over two minutes; one in and one out nets to zero."""
    door = at_door(campaign_of(make_user()), capacity=None, safe_capacity=1, overflow_name="Lawn")
    t0 = minute_of(utcnow() - timedelta(minutes=4)) + timedelta(seconds=10)
    a, b, c, d, e = (make_ticket(door.rally, name=f"Person {i}")[1] for i in range(5))

    def offline(when, code, scan=check_in, **kw):
        verdict = scan(code, door.scanner, nonce=nonce(), client_time=t0 + timedelta(minutes=when), offline=True,
                       online=False, **kw)
        assert (verdict.flags["clock"], verdict.flags["conflict"]) == (False, False), (when, verdict.to_dict())

    offline(0, a)
    offline(0, b)  # 2 in a venue of 1, from the first minute
    offline(1, c, device_verdict="admit_overflow")
    offline(2, d, device_verdict="admit_overflow")
    offline(3, a, scan=check_out)
    offline(3, e)  # one out, one in: no change
    rally = db.session.get(Rally, door.rally.id)
    occupancy = tallies.occupancy(rally, tallies.arrival_curve(rally).minutes)
    assert (occupancy.venue, occupancy.overflow, occupancy.peak) == ([2, 2, 2, 2], [0, 1, 2, 2], 2)
    start = minute_of(t0)
    assert [(o.start - start, o.end - start, o.peak, o.over_by) for o in occupancy.over_limit] == [
        (timedelta(0), timedelta(minutes=3), 2, 1)]
