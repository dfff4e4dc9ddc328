"""Forecasts: city, then state, then campaign; the range; the backtest and its command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rallies.database import atomic
from rallies.extensions import db
from rallies.models import Rally
from rallies.turnout import forecast
from tests.factories import campaign_of, held_rally


@pytest.fixture
def camp(make_user):
    return campaign_of(make_user())


def _history(camp, make_rally):
    for rsvp_in in (50, 60, 70):
        held_rally(camp, going=100, rsvp_in=rsvp_in, city="Chicago", state="IL")
    held_rally(camp, going=100, rsvp_in=90, city="Springfield", state="IL")
    held_rally(camp, going=100, rsvp_in=40, city="Austin", state="TX")
    # Never learned from: cancelled, no door data, still to come.
    held_rally(camp, going=100, rsvp_in=5, city="Chicago", state="IL", status="cancelled")
    held_rally(camp, going=100, rsvp_in=0, city="Chicago", state="IL")
    make_rally(camp, city="Chicago", state="IL")


def _upcoming(make_rally, camp, going, **fields):
    rally = make_rally(camp, **fields)
    with atomic():
        db.session.get(Rally, rally.id).going_people = going
    return db.session.get(Rally, rally.id)


def test_same_city_first(camp, make_rally):
    _history(camp, make_rally)
    fc = forecast.forecast_rally(_upcoming(make_rally, camp, 200, city="Chicago", state="IL"),
                                 forecast.past_rallies(camp.id))
    # Rates 50%, 60%, 70%: mean 60%, sd 10 points.
    assert (fc.basis, fc.sample) == ("city", 3)
    assert (fc.expected, fc.low, fc.high) == (120, 100, 140)
    assert "Chicago" in fc.basis_label and "standard deviation" in fc.method


def test_then_state(camp, make_rally):
    _history(camp, make_rally)
    fc = forecast.forecast_rally(_upcoming(make_rally, camp, 100, city="Peoria", state="IL"),
                                 forecast.past_rallies(camp.id))
    # IL rates 50, 60, 70, 90: mean 67.5%, sample sd 17.08 points.
    assert (fc.basis, fc.sample) == ("state", 4)
    assert fc.rate == pytest.approx(0.675)
    assert (fc.expected, fc.low, fc.high) == (68, 50, 85)


def test_then_campaign_with_percentiles(camp, make_rally):
    _history(camp, make_rally)
    fc = forecast.forecast_rally(_upcoming(make_rally, camp, 100, city="Denver", state="CO"),
                                 forecast.past_rallies(camp.id))
    # All five rates 40, 50, 60, 70, 90: mean 62%, 10th pct 44%, 90th pct 82%.
    assert (fc.basis, fc.sample) == ("campaign", 5)
    assert (fc.expected, fc.low, fc.high) == (62, 44, 82)
    assert "percentile" in fc.method


def test_no_history_uses_a_stated_default(camp, make_rally):
    fc = forecast.forecast_rally(_upcoming(make_rally, camp, 10), forecast.past_rallies(camp.id))
    assert fc.basis == "default" and (fc.expected, fc.low, fc.high) == (5, 3, 7)


def test_upcoming_forecasts_lists_only_future_scheduled(camp, make_rally):
    _history(camp, make_rally)
    soon = _upcoming(make_rally, camp, 10, city="Chicago", state="IL",
                     starts_at=datetime.now(UTC) + timedelta(days=1))
    _upcoming(make_rally, camp, 10, status="cancelled")
    ids = [r.id for r, _fc in forecast.upcoming_forecasts(camp.id)]
    assert ids[0] == soon.id and len(ids) == 2  # soon + the one in _history


def _ordered(camp, make_rally):
    for day, rsvp_in in ((1, 50), (8, 60), (15, 70)):
        held_rally(camp, going=100, rsvp_in=rsvp_in, city="Chicago", state="IL",
             starts_at=datetime(2026, 1, day, 18, tzinfo=UTC))


def test_backtest_forecasts_each_from_the_ones_before(camp, make_rally):
    _ordered(camp, make_rally)
    bt = forecast.backtest(camp.id)
    # Rally 2 from rally 1 (50%): 50 vs 60 -> 1/6. Rally 3 from 1 and 2 (55%): 55 vs 70 -> 15/70.
    assert (bt.forecasts, bt.skipped_first) == (2, 1)
    assert bt.mape == pytest.approx((1 / 6 + 15 / 70) / 2)
    assert bt.by_basis == {"campaign": 2}


def test_backtest_command(app, camp, make_rally):
    _ordered(camp, make_rally)
    result = app.test_cli_runner().invoke(args=["forecast-backtest", "--campaign", str(camp.id)])
    assert result.exit_code == 0, result.output
    assert "19.0%" in result.output and "2 rallies" in result.output
