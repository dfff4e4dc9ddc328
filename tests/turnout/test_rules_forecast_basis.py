"""Forecasts: what they learn from, which basis they pick, the range, and the backtest's bookkeeping.

A forecast learns show-up rates (RSVP people checked in / RSVP people going) from the campaign's
held rallies that ended before it: the same city with MIN_SAMPLE (3) of them, else the same state
with 3, else the whole campaign, else a stated default. One past rate gives +/- 10 points, two to
four give mean +/- one standard deviation, five or more the 10th to 90th percentile.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rallies.models import Rally, utcnow
from rallies.turnout.forecast import (
    HistoryIndex,
    PastRally,
    backtest,
    forecast_rally,
    past_rallies,
    rate_estimate,
    upcoming_forecasts,
)
from tests.factories import campaign_of, held_rally

T0 = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def past(i: int, city: str, state: str, rsvp_in: int, going: int = 100) -> PastRally:
    start = T0 + i * DAY
    return PastRally(i, city, state, start, start + 2 * HOUR, going, rsvp_in)


def test_no_history_gives_the_stated_default():
    fc = forecast_rally(Rally(city="Chicago", state="IL", going_people=10), [])
    assert fc.as_dict() == dict(
        going_people=10, expected=5, low=3, high=7, rate=0.5, rate_low=0.3, rate_high=0.7, basis="default",
        basis_label="no past rallies yet: a rule-of-thumb rate", sample=0, method="assumed 30% to 70%")


def test_one_past_rally_gives_ten_points_either_side():
    fc = forecast_rally(Rally(city="Austin", state="TX", going_people=100), [past(1, "Chicago", "IL", 50)])
    assert (fc.basis, fc.basis_label, fc.sample) == ("campaign", "1 past rallies across the campaign", 1)
    assert (fc.rate, fc.rate_low, fc.rate_high) == (0.5, pytest.approx(0.4), pytest.approx(0.6))
    assert (fc.going_people, fc.expected, fc.low, fc.high) == (100, 50, 40, 60)
    assert fc.method == "one past rally \u00b1 10 points"
    assert rate_estimate([0.05]) == (0.05, 0.0, pytest.approx(0.15), "one past rally \u00b1 10 points")


def test_two_to_four_past_rallies_give_one_standard_deviation():
    assert rate_estimate([0.5, 0.7]) == (
        pytest.approx(0.6), pytest.approx(0.6 - 0.1414, abs=1e-4), pytest.approx(0.6 + 0.1414, abs=1e-4),
        "mean \u00b1 one standard deviation")
    fc = forecast_rally(Rally(city="Austin", state="TX", going_people=100),
                        [past(1, "Chicago", "IL", 50), past(2, "Chicago", "IL", 70)])
    assert (fc.basis, fc.basis_label, fc.expected, fc.low, fc.high) == (
        "campaign", "2 past rallies across the campaign", 60, 46, 74)


def test_five_past_rallies_give_the_10th_to_90th_percentile():
    rate, low, high, method = rate_estimate([0.4, 0.5, 0.6, 0.7, 0.9])
    assert (rate, low, high) == (pytest.approx(0.62), pytest.approx(0.44), pytest.approx(0.82))
    assert method == "10th to 90th percentile of past rates"


def test_the_city_needs_three_past_rallies_then_the_state_needs_three():
    history = [past(1, "Chicago", "IL", 50), past(2, "Chicago", "IL", 60), past(3, "Peoria", "IL", 90),
               past(4, "Austin", "TX", 10)]
    state = forecast_rally(Rally(city="Chicago", state="il", going_people=100), history)
    assert (state.basis, state.basis_label, state.sample) == ("state", "3 past rallies in IL", 3)
    assert state.rate == pytest.approx((0.5 + 0.6 + 0.9) / 3)
    history.append(past(5, "chicago ", "IL", 70))
    city = forecast_rally(Rally(city="Chicago", state="IL", going_people=100), history)
    assert (city.basis, city.basis_label, city.sample, city.rate) == (
        "city", "3 past rallies in Chicago, IL", 3, pytest.approx(0.6))


def test_a_rally_without_a_state_learns_from_same_city_rallies_without_one():
    history = [past(i, "Springfield", "", 40 + i) for i in (1, 2, 3)] + [past(4, "Austin", "TX", 90)]
    fc = forecast_rally(Rally(city="Springfield", state=None, going_people=100), history)
    assert (fc.basis, fc.sample, fc.expected) == ("city", 3, 42)


def test_one_index_forecasts_each_rally_from_its_own_group():
    index = HistoryIndex([past(1, "Chicago", "IL", 50), past(2, "Chicago", "IL", 50), past(3, "Chicago", "IL", 50),
                          past(4, "Austin", "TX", 90), past(5, "Dallas", "TX", 90), past(6, "Waco", "TX", 90)])
    chicago = forecast_rally(Rally(city="Chicago", state="IL", going_people=100), index)
    texas = forecast_rally(Rally(city="Houston", state="TX", going_people=100), index)
    everyone = forecast_rally(Rally(city="Denver", state="CO", going_people=100), index)
    assert [(f.basis, f.expected) for f in (chicago, texas, everyone)] == [("city", 50), ("state", 90), ("campaign", 70)]


def test_past_rallies_are_ended_held_rallies_with_rsvps_and_door_data(make_rally, campaign, make_user):
    last = held_rally(campaign, going=10, rsvp_in=5, starts_at=T0 + 2 * DAY, city="", state="")
    first = held_rally(campaign, going=1, rsvp_in=1, starts_at=T0, city="Peoria", state="il")
    cutoff = T0 + 2 * DAY + 2 * HOUR  # the moment `last` ends
    held_rally(campaign, going=10, rsvp_in=5, starts_at=T0 + 2 * DAY + timedelta(minutes=1))  # ends later
    held_rally(campaign, going=0, rsvp_in=0, walkins=5, starts_at=T0 + DAY)  # walk-ins only: no RSVP rate
    held_rally(campaign, going=10, rsvp_in=0, starts_at=T0 + DAY)  # the door app was not used
    held_rally(campaign, going=10, rsvp_in=5, starts_at=T0 + DAY, status="cancelled")
    held_rally(campaign_of(make_user()), going=10, rsvp_in=5, starts_at=T0 + DAY)
    assert past_rallies(campaign.id, cutoff) == [
        PastRally(first.id, "Peoria", "IL", T0, T0 + 2 * HOUR, 1, 1),
        PastRally(last.id, "", "", T0 + 2 * DAY, cutoff, 10, 5),
    ]


def _four_in_chicago(make_rally, campaign):
    """Created out of start order. The second starts the moment the first ends."""
    chicago = dict(city="Chicago", state="IL", going=100)
    fourth = held_rally(campaign, rsvp_in=90, starts_at=T0 + 2 * DAY, **chicago)
    held_rally(campaign, rsvp_in=50, starts_at=T0, **chicago)
    third = held_rally(campaign, rsvp_in=52, starts_at=T0 + DAY, **chicago)
    held_rally(campaign, rsvp_in=40, starts_at=T0 + 2 * HOUR, **chicago)
    return third, fourth


def test_backtest_forecasts_each_rally_from_those_ended_by_its_start(make_rally, campaign):
    third, fourth = _four_in_chicago(make_rally, campaign)
    bt = backtest(campaign.id, now=fourth.ends_at)
    # 2nd from [50%]: 50 vs 40, range 40-60 (in). 3rd from [50, 40]: 45 vs 52, range 38-52 (in).
    # 4th from [50, 40, 52] in Chicago: 47 vs 90, range 41-54 (out).
    assert (bt.forecasts, bt.skipped_first, bt.by_basis) == (3, 1, {"campaign": 2, "city": 1})
    assert bt.mape == pytest.approx((10 / 40 + 7 / 52 + 43 / 90) / 3)
    assert bt.coverage == pytest.approx(2 / 3)
    earlier = backtest(campaign.id, now=third.ends_at)  # the fourth had not ended yet
    assert (earlier.forecasts, earlier.by_basis, earlier.coverage) == (2, {"campaign": 2}, 1.0)


def test_backtest_skips_every_rally_that_started_before_any_ended(make_rally, campaign):
    held_rally(campaign, going=100, rsvp_in=50, starts_at=T0)
    held_rally(campaign, going=100, rsvp_in=60, starts_at=T0 + HOUR)  # while the first runs
    held_rally(campaign, going=100, rsvp_in=55, starts_at=T0 + DAY)
    bt = backtest(campaign.id, now=T0 + 2 * DAY)
    assert (bt.forecasts, bt.skipped_first, bt.mape, bt.coverage) == (1, 2, 0.0, 1.0)


def test_backtest_with_nothing_to_forecast_has_no_error_figures(make_rally, campaign):
    held_rally(campaign, going=100, rsvp_in=50, starts_at=T0)
    bt = backtest(campaign.id, now=T0 + DAY)
    assert (bt.forecasts, bt.mape, bt.coverage, bt.by_basis, bt.skipped_first) == (0, None, None, {}, 1)


def test_upcoming_forecasts_at_a_given_clock(make_rally, campaign):
    now = utcnow().replace(microsecond=0) - 10 * DAY
    held_rally(campaign, going=100, rsvp_in=50, starts_at=now - 5 * DAY)
    later = held_rally(campaign, going=100, rsvp_in=100, starts_at=now + DAY)  # ended since `now`
    no_door_time = make_rally(campaign, starts_at=now + 2 * DAY, doors_open_at=None, going_people=10)
    make_rally(campaign, starts_at=now + HOUR, doors_open_at=now, going_people=10)  # doors open at `now`
    rows = upcoming_forecasts(campaign.id, now)
    assert [r.id for r, _f in rows] == [later.id, no_door_time.id]
    assert [f.rate for _r, f in rows] == [0.5, 0.5]  # learned only from what had ended by `now`


def test_a_rally_without_a_city_never_takes_the_city_basis():
    # City-less rallies are not one "city": the state (then the campaign) is their basis.
    history = [past(i, "", "IL", 40 + i) for i in (1, 2, 3)] + [past(4, "", "TX", 90)]
    fc = forecast_rally(Rally(city=None, state="IL", going_people=100), history)
    assert (fc.basis, fc.sample, fc.expected) == ("state", 3, 42)
    nowhere = forecast_rally(Rally(city="", state="", going_people=100), history)
    assert (nowhere.basis, nowhere.sample) == ("campaign", 4)
