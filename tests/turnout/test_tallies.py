"""Tallies, arrival curves, throughput, the comparison table and roll-ups against hand-worked numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from rallies.extensions import db
from rallies.models import Rally
from rallies.turnout import tallies, throughput
from rallies.turnout.tallies import RallyFilters
from tests.factories import PAST, arrival_minutes, campaign_of, held_rally, make_door


@pytest.fixture
def camp(make_user):
    return campaign_of(make_user())


def test_rally_tally_rates_from_counters(camp):
    rally = held_rally(camp, going=40, rsvp_in=30, walkins=6, capacity=50)
    t = tallies.rally_tally(db.session.get(Rally, rally.id))
    assert (t.going_people, t.checked_in_people, t.walkin_people) == (40, 36, 6)
    assert t.show_up_rate == pytest.approx(0.75)  # 30 / 40
    assert t.capacity_fill == pytest.approx(0.72)  # 36 / 50


def test_rates_are_none_without_denominator(camp):
    rally = held_rally(camp, going=0, rsvp_in=0, walkins=3, capacity=None)
    t = tallies.rally_tally(db.session.get(Rally, rally.id))
    assert t.show_up_rate is None and t.capacity_fill is None and t.checked_in_people == 3


def test_arrival_curve_fills_gaps_and_finds_peaks(camp):
    rally = held_rally(camp, going=30, rsvp_in=20)
    north = make_door(rally, "North", lanes=2)
    south = make_door(rally, "South", lanes=1)
    arrival_minutes(rally, north, PAST, {0: 5, 2: 12})
    arrival_minutes(rally, south, PAST, {0: 3})
    curve = tallies.arrival_curve(db.session.get(Rally, rally.id))
    assert curve.minutes == [PAST, PAST + timedelta(minutes=1), PAST + timedelta(minutes=2)]
    by_name = {d.name: d for d in curve.doors}
    assert by_name["North"].counts == [5, 0, 12] and by_name["South"].counts == [3, 0, 0]
    assert curve.total == [8, 0, 12]
    assert (curve.peak, curve.peak_minute) == (12, PAST + timedelta(minutes=2))
    assert (by_name["North"].peak, by_name["South"].peak) == (12, 3)

    loads = {d.name: d for d in throughput.door_loads(curve)}
    assert (loads["North"].limit, loads["North"].lanes_needed, loads["North"].over) == (22, 2, False)
    assert (loads["South"].limit, loads["South"].lanes_needed) == (11, 1)
    assert throughput.lanes_for(curve.peak) == 2  # 12 a minute > 11 a lane


def test_door_over_its_limit_is_flagged(camp):
    rally = held_rally(camp, going=30, rsvp_in=20)
    door = make_door(rally, "Main", lanes=1)
    arrival_minutes(rally, door, PAST, {0: 25})
    (load,) = throughput.door_loads(tallies.arrival_curve(db.session.get(Rally, rally.id)))
    assert load.over and load.lanes_needed == 3  # 25 / 11 -> 3 lanes


def test_lane_plan_for_a_forecast(camp, make_rally):
    start = datetime.now(UTC) + timedelta(days=3)
    rally = make_rally(camp, starts_at=start, doors_open_at=start - timedelta(minutes=60))
    plan = throughput.lane_plan(rally, 600, 2.0, lanes_planned=1)
    # 600 people over 60 minutes = 10 a minute, x2 at the peak = 20 a minute -> 2 lanes.
    assert (plan.window_min, plan.average_rate, plan.peak_rate, plan.lanes_needed) == (60, 10, 20, 2)
    assert plan.short


def test_peak_factor_learned_from_past_counters(camp):
    r = held_rally(camp, going=200, rsvp_in=120)  # 120 in a 60 min window = 2/min average
    with db.session.begin_nested():
        db.session.get(Rally, r.id).peak_rate_per_min = 7
    db.session.commit()
    factor, n = throughput.peak_factor(camp.id)
    assert (factor, n) == (pytest.approx(3.5), 1)


def _three(camp, make_rally):
    a = held_rally(camp, going=100, rsvp_in=50, title="A", city="Chicago", state="IL", capacity=200,
             starts_at=datetime(2026, 1, 10, 18, tzinfo=UTC))
    b = held_rally(camp, going=100, rsvp_in=80, walkins=10, title="B", city="Springfield", state="IL",
             starts_at=datetime(2026, 2, 10, 18, tzinfo=UTC))
    c = held_rally(camp, going=50, rsvp_in=20, title="C", city="Austin", state="TX",
             starts_at=datetime(2026, 3, 10, 18, tzinfo=UTC))
    return a, b, c


def test_comparison_filters_sort_and_pages(camp, make_rally, make_user):
    a, b, c = _three(camp, make_rally)
    upcoming = make_rally(camp, title="D", city="Chicago", state="IL")
    other = campaign_of(make_user())
    make_rally(other, title="Elsewhere", city="Chicago", state="IL")

    everything = tallies.comparison_page(camp.id, RallyFilters())
    assert [r.title for r in everything.rows] == ["D", "C", "B", "A"]  # date, newest first
    assert tallies.comparison_page(camp.id, RallyFilters(state="il")).total == 3
    assert [r.title for r in tallies.comparison_page(camp.id, RallyFilters(city="chicago")).rows] == ["D", "A"]
    ranged = tallies.comparison_page(camp.id, RallyFilters(date_from=date(2026, 2, 1), date_to=date(2026, 3, 10)))
    assert [r.title for r in ranged.rows] == ["C", "B"]
    assert [r.id for r in tallies.comparison_page(camp.id, RallyFilters(status="upcoming")).rows] == [upcoming.id]
    assert tallies.comparison_page(camp.id, RallyFilters(status="past")).total == 3

    by_rate = tallies.comparison_page(camp.id, RallyFilters(), sort="show_up", descending=True)
    # B 80%, A 50%, C 40%; D has no RSVPs (no rate) and sorts last.
    assert [r.title for r in by_rate.rows] == ["B", "A", "C", "D"]
    assert [r.title for r in tallies.comparison_page(camp.id, RallyFilters(), "show_up", False).rows] == [
        "C", "A", "B", "D"]

    page2 = tallies.comparison_page(camp.id, RallyFilters(), page=2, per_page=3)
    assert (page2.pages, page2.page, [r.title for r in page2.rows]) == (2, 2, ["A"])
    beyond = tallies.comparison_page(camp.id, RallyFilters(), page=50, per_page=3)
    assert beyond.clamped and beyond.page == 2


def test_rollups_by_city_and_state(camp, make_rally):
    _three(camp, make_rally)
    held_rally(camp, going=100, rsvp_in=70, walkins=5, title="A2", city="Chicago", state="IL")
    make_rally(camp, title="Future", city="Chicago", state="IL")  # not held: counted as a rally, not in turnout
    cities = {(r.state, r.city): r for r in tallies.rollups(camp.id, "city")}
    chicago = cities[("IL", "Chicago")]
    assert (chicago.rallies, chicago.held, chicago.turnout) == (3, 2, 125)  # 50 + (70 + 5)
    assert chicago.avg_show_up_rate == pytest.approx(0.6)  # mean of 50% and 70%
    assert chicago.population == 2_664_452  # GeoNames, via the gazetteer
    assert chicago.per_100k == pytest.approx(125 * 100_000 / 2_664_452)

    states = {r.state: r for r in tallies.rollups(camp.id, "state")}
    il = states["IL"]
    assert (il.rallies, il.held, il.turnout) == (4, 3, 215)  # 50 + 90 + 75
    assert il.avg_show_up_rate == pytest.approx((0.5 + 0.8 + 0.7) / 3)
    assert il.per_100k == pytest.approx(215 * 100_000 / 12_812_508)  # 2020 Census
    assert states["TX"].turnout == 20


def test_rollup_unknown_city_has_no_per_capita(camp):
    held_rally(camp, going=10, rsvp_in=5, city="Nowhereville Xq", state="IL")
    (row,) = tallies.rollups(camp.id, "city")
    assert row.population is None and row.per_100k is None and row.turnout == 5


def test_rollup_without_held_rallies_has_no_per_capita(camp, make_rally):
    make_rally(camp, city="Chicago", state="IL")  # upcoming only
    (row,) = tallies.rollups(camp.id, "state")
    assert (row.rallies, row.held, row.turnout, row.per_100k) == (1, 0, 0, None)
