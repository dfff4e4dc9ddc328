"""City and state roll-ups: which rallies count as held, what each sum holds, and the order.

A rally is held once its doors have opened (doors_open_at, or starts_at without one) unless it
was cancelled. Every rally counts in ``rallies``; only held ones add turnout, RSVP people, walk-ins
and a show-up rate (the mean over held rallies that had RSVPs). Rows come busiest first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rallies.turnout.tallies import RallyFilters, rollups
from tests.factories import campaign_of, held_rally

NOW = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def towns(make_rally, campaign, make_user):
    """Peoria: four held rallies, one upcoming, one cancelled; Springfield: upcoming only; Austin; no place."""
    peoria = dict(city="Peoria", state="IL")
    held_rally(campaign, going=10, rsvp_in=4, walkins=2, starts_at=NOW - 48 * HOUR, **peoria)  # 40%
    held_rally(campaign, going=1, rsvp_in=1, starts_at=NOW - 24 * HOUR, **peoria)  # one RSVP, 100%
    held_rally(campaign, going=4, rsvp_in=2, starts_at=NOW + HOUR, **peoria)  # doors open at NOW: 50%
    held_rally(campaign, going=5, rsvp_in=5, starts_at=NOW - 3 * HOUR, doors_open_at=None, **peoria)  # 100%
    make_rally(campaign, starts_at=NOW + 2 * HOUR, going_people=8, **peoria)  # doors open in an hour
    held_rally(campaign, going=20, rsvp_in=20, starts_at=NOW - 5 * HOUR, status="cancelled", **peoria)
    make_rally(campaign, starts_at=NOW + 24 * HOUR, going_people=3, city="Springfield", state="IL")
    held_rally(campaign, going=100, rsvp_in=50, starts_at=NOW - 72 * HOUR, city="Austin", state="TX")
    held_rally(campaign, going=3, rsvp_in=3, starts_at=NOW - 24 * HOUR, city="", state="")
    held_rally(campaign_of(make_user()), going=9, rsvp_in=9, starts_at=NOW - 24 * HOUR, **peoria)


def _numbers(r):
    return (r.rallies, r.held, r.turnout, r.going_people, r.checked_in_rsvp_people, r.walkin_people)


def test_city_rollups_count_only_held_rallies(towns, campaign):
    rows = rollups(campaign.id, "city", now=NOW)
    assert [(r.state, r.city) for r in rows] == [("TX", "Austin"), ("IL", "Peoria"), ("", ""), ("IL", "Springfield")]
    by = {r.city: r for r in rows}
    assert _numbers(by["Peoria"]) == (6, 4, 14, 20, 12, 2)
    assert by["Peoria"].avg_show_up_rate == pytest.approx((0.4 + 1.0 + 0.5 + 1.0) / 4)
    assert _numbers(by["Springfield"]) == (1, 0, 0, 0, 0, 0)
    assert by["Springfield"].avg_show_up_rate is None and by["Springfield"].per_100k is None
    assert _numbers(by[""]) == (1, 1, 3, 3, 3, 0)
    if by["Peoria"].population:
        assert by["Peoria"].per_100k == pytest.approx(14 * 100_000 / by["Peoria"].population)


def test_state_rollups_have_no_city(towns, campaign):
    rows = rollups(campaign.id, "state", now=NOW)
    assert [(r.state, r.city) for r in rows] == [("TX", ""), ("IL", ""), ("", "")]
    il = rows[1]
    assert _numbers(il) == (7, 4, 14, 20, 12, 2)
    assert il.as_dict() == dict(
        state="IL", city="", rallies=7, held=4, turnout=14, going_people=20, checked_in_rsvp_people=12,
        walkin_people=2, avg_show_up_rate=il.avg_show_up_rate, population=il.population, per_100k=il.per_100k)


def test_rollups_take_the_filters_at_the_given_clock(towns, campaign):
    past = {r.city: r for r in rollups(campaign.id, "city", RallyFilters(status="past"), now=NOW)}
    assert set(past) == {"Austin", "Peoria", ""}
    assert _numbers(past["Peoria"]) == (3, 3, 12, 16, 10, 2)
    upcoming = {r.city: r for r in rollups(campaign.id, "city", RallyFilters(status="upcoming"), now=NOW)}
    assert {c: r.rallies for c, r in upcoming.items()} == {"Peoria": 1, "Springfield": 1}
