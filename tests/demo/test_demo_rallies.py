"""Demo rallies: about 40, real cities, past and upcoming, offline, deterministic and idempotent."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from rallies.demo import accounts
from rallies.demo import rallies as demo_rallies
from rallies.extensions import db
from rallies.models import Rally


class NoNetwork:
    def geocode(self, *args, **kwargs):
        raise AssertionError("the demo must not use the network geocoder")


@pytest.mark.slow
def test_demo_rallies_load_once_offline(app):
    app.extensions["rallies.geocoder"] = NoNetwork()
    try:
        list(accounts.load())
        first = list(demo_rallies.load())
        second = list(demo_rallies.load())
    finally:
        del app.extensions["rallies.geocoder"]
    assert "42 created" in first[0] and "0 created, 42 already there" in second[0]
    rallies = db.session.scalars(db.select(Rally)).all()
    assert len(rallies) == 42
    now = datetime.now(UTC)
    assert 8 <= sum(r.starts_at < now for r in rallies) <= 20
    assert max(Counter(r.city for r in rallies).values()) >= 3
    # Three held rallies before an upcoming one in the same city, so forecasts can learn from it.
    for city in ("New York", "Chicago"):
        here = [r for r in rallies if r.city == city]
        assert sum(r.starts_at < now for r in here) >= 3 and any(r.starts_at > now for r in here)
    assert all(r.lat is not None and r.geo_precision == "zip" for r in rallies)
    assert all(1000 <= r.capacity <= 30000 for r in rallies)
    assert all(r.doors_open_at < r.starts_at < r.ends_at for r in rallies)
    assert {r.timezone for r in rallies} >= {"America/New_York", "America/Chicago", "America/Denver",
                                             "America/Los_Angeles", "America/Phoenix", "Pacific/Honolulu"}
    assert len({r.slug for r in rallies}) == 42 and all(r.public_key for r in rallies)
    # Local start times are on the hour or half hour in each rally's own zone.
    assert all(r.starts_at.astimezone(ZoneInfo(r.timezone)).minute in (0, 30) for r in rallies)


def test_demo_plan_is_deterministic():
    day = datetime(2030, 1, 1, tzinfo=UTC).date()
    assert demo_rallies.plan(day) == demo_rallies.plan(day)
