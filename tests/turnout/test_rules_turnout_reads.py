"""The turnout reads around the rules: comparison paging, arrival curves and which rallies get a forecast."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rallies.database import atomic
from rallies.extensions import db
from rallies.models import Rally, utcnow
from rallies.turnout.forecast import _percentile, upcoming_forecasts
from rallies.turnout.tallies import (
    MAX_CURVE_MINUTES,
    RallyFilters,
    arrival_curve,
    arrival_rows,
    comparison_page,
    rally_doors,
)
from tests.factories import PAST, arrival_minutes, campaign_of, held_rally, make_door


def test_comparison_pages_by_start_newest_first_with_id_ties(campaign):
    same = PAST
    ids = [held_rally(campaign, going=1, rsvp_in=1, starts_at=same).id for _ in range(3)]
    newer = held_rally(campaign, going=1, rsvp_in=1, starts_at=same + timedelta(days=1)).id
    first = comparison_page(campaign.id, RallyFilters(), per_page=2)
    assert (first.total, first.pages, first.page, first.per_page, first.clamped) == (4, 2, 1, 2, False)
    assert [r.id for r in first.rows] == [newer, ids[2]]
    second = comparison_page(campaign.id, RallyFilters(), page=2, per_page=2)
    assert [r.id for r in second.rows] == [ids[1], ids[0]] and second.clamped is False
    oldest = comparison_page(campaign.id, RallyFilters(), descending=False, per_page=3)
    assert [r.id for r in oldest.rows] == ids
    past_end = comparison_page(campaign.id, RallyFilters(), page=9, per_page=2)
    assert (past_end.page, past_end.clamped, [r.id for r in past_end.rows]) == (2, True, [ids[1], ids[0]])
    assert comparison_page(campaign.id, RallyFilters(), page=0, per_page=2).page == 1
    unknown = comparison_page(campaign.id, RallyFilters(), sort="nonsense", per_page=4)
    assert [r.id for r in unknown.rows] == [newer, ids[2], ids[1], ids[0]]


def test_an_empty_comparison_is_one_empty_page(campaign):
    empty = comparison_page(campaign.id, RallyFilters())
    assert (empty.total, empty.pages, empty.page, empty.rows, empty.clamped) == (0, 1, 1, [], False)


def test_arrival_curve_fills_gaps_and_keeps_doors_apart(campaign):
    rally = held_rally(campaign, going=10, rsvp_in=6)
    south = make_door(rally, "South", lanes=2)
    north = make_door(rally, "North")
    arrival_minutes(rally, north, PAST, {0: 1, 3: 3})
    arrival_minutes(rally, south, PAST, {1: 2}, walkins={1: 1})
    arrival_minutes(rally, None, PAST, {3: 1})
    assert [d.name for d in rally_doors(rally.id)] == ["North", "South"]
    curve = arrival_curve(rally)
    assert curve.minutes == [PAST + timedelta(minutes=i) for i in range(4)]
    assert curve.total == [1, 2, 0, 4] and (curve.peak, curve.peak_minute) == (4, PAST + timedelta(minutes=3))
    by_name = {s.name: s for s in curve.doors}
    assert by_name["North"].counts == [1, 0, 0, 3] and by_name["North"].door_id == north.id
    assert (by_name["South"].counts, by_name["South"].lanes) == ([0, 2, 0, 0], 2)
    assert (by_name["South"].checked_in_people, by_name["South"].walkin_people) == (2, 1)
    assert (by_name["South"].peak, by_name["South"].peak_minute) == (2, PAST + timedelta(minutes=1))
    lost = by_name["No door recorded"]
    assert (lost.door_id, lost.lanes, lost.counts, lost.checked_in_people) == (None, 1, [0, 0, 0, 1], 0)
    rows = arrival_rows(rally.id, since=PAST + timedelta(minutes=1))
    assert [(r[1] - PAST, r[2], r[3]) for r in rows][0] == (timedelta(minutes=1), 2, 1)
    assert len(rows) == 3


def test_a_day_long_curve_is_drawn_minute_by_minute_longer_ones_sparse(campaign):
    rally = held_rally(campaign, going=4, rsvp_in=2)
    door = make_door(rally, "Gate")
    arrival_minutes(rally, door, PAST, {0: 1, MAX_CURVE_MINUTES - 1: 1})
    assert len(arrival_curve(rally).minutes) == MAX_CURVE_MINUTES
    arrival_minutes(rally, door, PAST, {MAX_CURVE_MINUTES: 2})
    curve = arrival_curve(rally)
    assert curve.minutes == [PAST + timedelta(minutes=m) for m in (0, MAX_CURVE_MINUTES - 1, MAX_CURVE_MINUTES)]
    assert curve.total == [1, 1, 2]


def test_upcoming_forecasts_are_the_campaigns_unopened_rallies_soonest_first(make_rally, campaign, make_user):
    now = utcnow()
    later = make_rally(campaign, starts_at=now + timedelta(days=9), going_people=10)
    soon_b = make_rally(campaign, starts_at=now + timedelta(days=2), going_people=4)
    soon_a = make_rally(campaign, starts_at=now + timedelta(days=2), going_people=6)
    make_rally(campaign, starts_at=now + timedelta(minutes=30))  # doors already open
    make_rally(campaign, starts_at=now + timedelta(days=3), status="cancelled")
    make_rally(campaign_of(make_user()), starts_at=now + timedelta(days=1))  # another campaign
    held_rally(campaign, going=10, rsvp_in=8, days_ago=20)
    with atomic():  # two rallies starting together: id order
        db.session.get(Rally, soon_a.id).starts_at = db.session.get(Rally, soon_b.id).starts_at
    rows = upcoming_forecasts(campaign.id, now)
    assert [r.id for r, _f in rows] == [soon_b.id, soon_a.id, later.id]
    assert isinstance(rows[0][0], Rally)
    assert [f.expected for _r, f in rows] == [round(4 * 0.8), round(6 * 0.8), 8]
    light = upcoming_forecasts(campaign.id, now, light=True)
    assert [(r.id, r.going_people) for r, _f in light] == [(soon_b.id, 4), (soon_a.id, 6), (later.id, 10)]
    assert not isinstance(light[0][0], Rally)
    assert upcoming_forecasts(campaign.id, now + timedelta(days=5))[0][0].id == later.id


def test_percentile_interpolates_to_the_last_value():
    assert _percentile([0.1, 0.5, 0.9], 1.0) == pytest.approx(0.9)
    assert _percentile([0.1, 0.5, 0.9], 0.75) == pytest.approx(0.7)
    assert _percentile([0.4], 0.9) == pytest.approx(0.4)


def test_doorless_arrivals_add_up_and_a_quiet_door_has_no_peak(make_rally, campaign):
    rally = held_rally(campaign, going=10, rsvp_in=6)
    make_door(rally, "Quiet")
    arrival_minutes(rally, None, PAST, {0: 2, 1: 1})
    arrival_minutes(rally, None, PAST, {1: 3})  # a second door-less row for the same minute
    curve = arrival_curve(rally)
    by_name = {s.name: s for s in curve.doors}
    lost = by_name["No door recorded"]
    assert (lost.counts, lost.walkin_people, lost.peak, lost.peak_minute) == ([2, 4], 0, 4, PAST + timedelta(minutes=1))
    quiet = by_name["Quiet"]
    assert (quiet.counts, quiet.peak, quiet.peak_minute) == ([0, 0], 0, None)


def test_arrival_rows_come_by_minute_then_door(make_rally, campaign):
    rally = held_rally(campaign, going=10, rsvp_in=6)
    first, second = make_door(rally, "A"), make_door(rally, "B")
    arrival_minutes(rally, second, PAST, {0: 1, 1: 1})  # stored before the first door's rows
    arrival_minutes(rally, first, PAST, {0: 2, 1: 2})
    rows = arrival_rows(rally.id)
    assert [(r[0], r[1] - PAST) for r in rows] == [
        (first.id, timedelta(0)), (second.id, timedelta(0)), (first.id, timedelta(minutes=1)),
        (second.id, timedelta(minutes=1))]
