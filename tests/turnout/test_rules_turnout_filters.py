"""Which rallies a turnout view shows: phases, the comparison filters and their boundaries, exports' order.

A rally is upcoming until its doors open (doors_open_at, or starts_at when there is none), live
from that moment until ends_at, and past from ends_at on; a cancelled rally is only "cancelled".
Every clock here is a fixed moment passed in, so each boundary is tested exactly.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest

from rallies.models import Rally
from rallies.turnout.tallies import (
    RallyFilters,
    campaign_states,
    comparison_page,
    comparison_rows,
    local_label,
    rally_phase,
)
from tests.factories import campaign_of, held_rally

NOW = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def _unsaved(status="scheduled", opens=None, starts=NOW + HOUR, ends=NOW + 3 * HOUR) -> Rally:
    return Rally(status=status, doors_open_at=opens, starts_at=starts, ends_at=ends)


def test_phase_boundaries_are_doors_open_and_end():
    assert rally_phase(_unsaved(opens=NOW + MIN), NOW) == "upcoming"
    assert rally_phase(_unsaved(opens=NOW), NOW) == "live"  # the doors open now
    assert rally_phase(_unsaved(opens=NOW - MIN, starts=NOW + HOUR), NOW) == "live"  # open before the start
    assert rally_phase(_unsaved(opens=None, starts=NOW + MIN), NOW) == "upcoming"  # no door time: the start
    assert rally_phase(_unsaved(opens=None, starts=NOW), NOW) == "live"
    assert rally_phase(_unsaved(opens=NOW - HOUR, starts=NOW - HOUR, ends=NOW + MIN), NOW) == "live"
    assert rally_phase(_unsaved(opens=NOW - HOUR, starts=NOW - HOUR, ends=NOW), NOW) == "past"  # ends now


def test_a_cancelled_rally_is_cancelled_whatever_the_clock():
    assert rally_phase(_unsaved(status="cancelled", opens=NOW - HOUR), NOW) == "cancelled"
    assert rally_phase(_unsaved(status="cancelled", starts=NOW - 3 * HOUR, ends=NOW - HOUR), NOW) == "cancelled"


def test_phase_defaults_to_the_current_clock():
    far = datetime.now(UTC) + timedelta(days=365)
    assert rally_phase(_unsaved(opens=far, starts=far, ends=far + HOUR)) == "upcoming"
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    assert rally_phase(_unsaved(opens=long_ago, starts=long_ago, ends=long_ago + HOUR)) == "past"


def test_local_label_shows_the_rallys_zone_and_falls_back_to_utc(monkeypatch):
    moment = datetime(2026, 1, 10, 18, 5, tzinfo=UTC)
    # A server clock in another zone must not leak into the labels.
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert local_label(moment, "America/Chicago") == "12:05"
        assert local_label(moment, "America/Chicago", "%Y-%m-%d %H:%M") == "2026-01-10 12:05"
        assert local_label(moment, "Not/AZone") == "18:05"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_campaign_states_are_distinct_upper_case_and_non_empty(make_rally, campaign, make_user):
    for state in ("il", "TX", "IL", ""):
        make_rally(campaign, state=state)
    make_rally(campaign_of(make_user()), state="CA")
    assert campaign_states(campaign.id) == ["IL", "TX"]


def test_date_range_includes_both_whole_days(make_rally, campaign):
    first_midnight = make_rally(campaign, starts_at=datetime(2026, 2, 1, 0, 0, tzinfo=UTC))
    last_evening = make_rally(campaign, starts_at=datetime(2026, 2, 3, 23, 59, tzinfo=UTC))
    make_rally(campaign, starts_at=datetime(2026, 1, 31, 23, 59, tzinfo=UTC))  # the day before
    make_rally(campaign, starts_at=datetime(2026, 2, 4, 0, 0, tzinfo=UTC))  # midnight after the last day
    make_rally(campaign, starts_at=datetime(2026, 2, 4, 12, 0, tzinfo=UTC))  # the day after
    page = comparison_page(campaign.id, RallyFilters(date_from=date(2026, 2, 1), date_to=date(2026, 2, 3)), now=NOW)
    assert [r.id for r in page.rows] == [last_evening.id, first_midnight.id]


def _phases(make_rally, campaign, other):
    """One rally at each side of every phase boundary, at NOW; plus the same in another campaign."""
    r = {
        "soon": make_rally(campaign, starts_at=NOW + HOUR, doors_open_at=NOW + MIN),
        "no_door_time": make_rally(campaign, starts_at=NOW + HOUR, doors_open_at=None),
        "opening_now": make_rally(campaign, starts_at=NOW + HOUR, doors_open_at=NOW),
        "open_before_start": make_rally(campaign, starts_at=NOW + HOUR, doors_open_at=NOW - MIN),
        "ending_soon": make_rally(campaign, starts_at=NOW - HOUR, ends_at=NOW + MIN),
        "ending_now": make_rally(campaign, starts_at=NOW - 2 * HOUR, ends_at=NOW),
        "cancelled": make_rally(campaign, starts_at=NOW + HOUR, status="cancelled"),
        "cancelled_past": make_rally(campaign, starts_at=NOW - 5 * HOUR, status="cancelled"),
    }
    make_rally(other, starts_at=NOW - HOUR, ends_at=NOW + HOUR)  # live elsewhere
    make_rally(other, starts_at=NOW - 5 * HOUR)  # past elsewhere
    make_rally(other, starts_at=NOW + HOUR, status="cancelled")
    return r


@pytest.mark.parametrize("status, expected", [
    ("upcoming", {"soon", "no_door_time"}),
    ("live", {"opening_now", "open_before_start", "ending_soon"}),
    ("past", {"ending_now"}),
    ("cancelled", {"cancelled", "cancelled_past"}),
])
def test_status_filter_puts_each_rally_in_one_phase(make_rally, campaign, make_user, status, expected):
    r = _phases(make_rally, campaign, campaign_of(make_user()))
    name = {v.id: k for k, v in r.items()}
    page = comparison_page(campaign.id, RallyFilters(status=status), now=NOW)
    assert {name.get(x.id, x.id) for x in page.rows} == expected
    assert {name.get(x.id, x.id) for x in comparison_rows(campaign.id, RallyFilters(status=status), now=NOW)} == expected
    assert all(rally_phase(x, NOW) == status for x in page.rows)


def test_ties_are_broken_by_id_the_same_way_in_the_table_and_the_export(make_rally, campaign):
    ids = [make_rally(campaign, title="Same").id for _ in range(3)]
    newest_first = comparison_page(campaign.id, RallyFilters(), sort="title", descending=True, now=NOW)
    assert [r.id for r in newest_first.rows] == ids[::-1]
    oldest_first = comparison_page(campaign.id, RallyFilters(), sort="title", descending=False, now=NOW)
    assert [r.id for r in oldest_first.rows] == ids
    for descending in (True, False):
        table = comparison_page(campaign.id, RallyFilters(), "title", descending, now=NOW).rows
        assert comparison_rows(campaign.id, RallyFilters(), "title", descending, now=NOW) == table


def test_export_rows_sort_like_the_table(make_rally, campaign, make_user):
    a = held_rally(campaign, going=10, rsvp_in=5, starts_at=NOW - 48 * HOUR, title="B")
    b = held_rally(campaign, going=10, rsvp_in=9, starts_at=NOW - 24 * HOUR, title="A")
    c = make_rally(campaign, starts_at=NOW + 24 * HOUR, title="C", state="TX")
    make_rally(campaign_of(make_user()), starts_at=NOW, title="Other campaign")
    rows = comparison_rows
    assert [r.id for r in rows(campaign.id, RallyFilters(), now=NOW)] == [c.id, b.id, a.id]  # date, newest first
    assert [r.id for r in rows(campaign.id, RallyFilters(), "date", False, now=NOW)] == [a.id, b.id, c.id]
    assert [r.id for r in rows(campaign.id, RallyFilters(), "nonsense", now=NOW)] == [c.id, b.id, a.id]
    assert [r.id for r in rows(campaign.id, RallyFilters(), "title", False, now=NOW)] == [b.id, a.id, c.id]
    assert [r.id for r in rows(campaign.id, RallyFilters(), "show_up", now=NOW)] == [b.id, a.id, c.id]  # no rate last
    assert [r.id for r in rows(campaign.id, RallyFilters(state="tx"), now=NOW)] == [c.id]
    assert [r.id for r in rows(campaign.id, RallyFilters(status="past"), now=NOW)] == [b.id, a.id]
    assert [r.id for r in rows(campaign.id, RallyFilters())][0] == c.id  # the clock defaults to now
