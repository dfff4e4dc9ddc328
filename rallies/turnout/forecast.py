"""Attendance forecasts for upcoming rallies, learned from the campaign's past rallies.

Expected attendance = going people x a show-up rate (checked-in RSVP people / going people)
learned from past rallies: the same city if it has at least MIN_SAMPLE held rallies, else the
same state, else the whole campaign. The range comes from the spread of those past rates
(10th to 90th percentile with five or more, mean +/- one standard deviation with fewer).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa

from ..extensions import db
from ..models import Rally, utcnow
from ..models.rallies import STATUS_CANCELLED

#: Fewest past rallies a city or state needs before its own rate is trusted.
MIN_SAMPLE = 3
#: With no history at all: a cautious rule of thumb for free events (stated on the page).
DEFAULT_RATE, DEFAULT_LOW, DEFAULT_HIGH = 0.5, 0.3, 0.7


class PastRally(NamedTuple):
    """What a forecast learns from one held rally (a tuple: thousands are built per request)."""

    id: int
    city: str
    state: str
    starts_at: datetime
    ends_at: datetime
    going_people: int
    checked_in_rsvp_people: int

    @property
    def show_up_rate(self) -> float:
        return self.checked_in_rsvp_people / self.going_people


@dataclass
class Forecast:
    """Expected attendance with a range, and what it was based on."""

    going_people: int
    expected: int
    low: int
    high: int
    rate: float
    rate_low: float
    rate_high: float
    #: city, state, campaign or default.
    basis: str
    basis_label: str
    sample: int
    method: str

    def as_dict(self) -> dict:
        """JSON-ready."""
        return dict(self.__dict__)


def past_rallies(campaign_id: int, before: datetime | None = None) -> list[PastRally]:
    """Held rallies of the campaign with RSVPs and door data, ended before `before` (default now).

    Rallies where nobody was checked in are left out: that means the door app was not used,
    not that nobody came, and would drag every forecast towards zero.
    """
    before = before or utcnow()
    query = (
        db.select(Rally.id, Rally.city, Rally.state, Rally.starts_at, Rally.ends_at, Rally.rsvp_going_people,
                  Rally.checked_in_rsvp_people)
        .where(Rally.campaign_id == campaign_id, Rally.status != STATUS_CANCELLED, Rally.ends_at <= before,
               Rally.rsvp_going_people > 0, Rally.checked_in_people > 0)
        .order_by(Rally.starts_at, Rally.id)
    )
    return [PastRally(r[0], r[1] or "", (r[2] or "").upper(), *r[3:]) for r in db.session.execute(query)]


def _percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..1) of a non-empty list."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def rate_estimate(rates: list[float]) -> tuple[float, float, float, str]:
    """(rate, low, high, method) from past show-up rates (non-empty)."""
    mean = statistics.fmean(rates)
    if len(rates) >= 5:
        return mean, _percentile(rates, 0.1), _percentile(rates, 0.9), "10th to 90th percentile of past rates"
    spread = statistics.stdev(rates) if len(rates) > 1 else 0.1
    method = "mean \u00b1 one standard deviation" if len(rates) > 1 else "one past rally \u00b1 10 points"
    return mean, max(0.0, mean - spread), mean + spread, method


class HistoryIndex:
    """Past rallies grouped by city and state, with each group's rate estimate computed once."""

    def __init__(self, history: list[PastRally]):
        self.history: list[PastRally] = []
        self.by_city: dict[tuple[str, str], list[PastRally]] = {}
        self.by_state: dict[str, list[PastRally]] = {}
        self._estimates: dict[tuple, tuple[float, float, float, str]] = {}
        for p in history:
            self.add(p)

    def add(self, p: PastRally) -> None:
        """One more past rally (clears the memoised estimates)."""
        self.history.append(p)
        if p.city.strip():
            self.by_city.setdefault((p.city.strip().lower(), p.state), []).append(p)
        if p.state:
            self.by_state.setdefault(p.state, []).append(p)
        self._estimates.clear()

    def estimate(self, key: tuple, sample: list[PastRally]) -> tuple[float, float, float, str]:
        """rate_estimate for one group, memoised."""
        if key not in self._estimates:
            self._estimates[key] = rate_estimate([p.show_up_rate for p in sample])
        return self._estimates[key]


def forecast_rally(rally: Rally, history: list[PastRally] | HistoryIndex) -> Forecast:
    """Forecast one rally from the given history (already limited to rallies before it)."""
    index = history if isinstance(history, HistoryIndex) else HistoryIndex(history)
    city, state = (rally.city or "").strip().lower(), (rally.state or "").strip().upper()
    same_city = index.by_city.get((city, state), []) if city else []
    same_state = index.by_state.get(state, []) if state else []
    if len(same_city) >= MIN_SAMPLE:
        basis, key, sample = "city", ("city", city, state), same_city
        label = f"{len(same_city)} past rallies in {rally.city}, {state}"
    elif len(same_state) >= MIN_SAMPLE:
        basis, key, sample, label = "state", ("state", state), same_state, f"{len(same_state)} past rallies in {state}"
    elif index.history:
        basis, key, sample = "campaign", ("campaign",), index.history
        label = f"{len(index.history)} past rallies across the campaign"
    else:
        basis, key, sample, label = "default", None, [], "no past rallies yet: a rule-of-thumb rate"
    if sample:
        rate, low, high, method = index.estimate(key, sample)
    else:
        rate, low, high, method = DEFAULT_RATE, DEFAULT_LOW, DEFAULT_HIGH, "assumed 30% to 70%"
    going = rally.going_people
    return Forecast(
        going_people=going, expected=round(going * rate), low=round(going * low), high=round(going * high),
        rate=rate, rate_low=low, rate_high=high, basis=basis, basis_label=label, sample=len(sample), method=method,
    )


def upcoming_forecasts(campaign_id: int, now: datetime | None = None, light: bool = False) -> list[tuple]:
    """Every scheduled rally that has not opened yet, with its forecast, soonest first.

    light=True gives plain rows (id, title, city, state, going_people, starts_at) instead of Rally objects,
    for callers that forecast thousands of rallies.
    """
    now = now or utcnow()
    history = HistoryIndex(past_rallies(campaign_id, now))
    what = (Rally.id, Rally.title, Rally.city, Rally.state, Rally.going_people, Rally.starts_at) if light else (Rally,)
    query = (
        db.select(*what)
        .where(Rally.campaign_id == campaign_id, Rally.status != STATUS_CANCELLED,
               sa.func.coalesce(Rally.doors_open_at, Rally.starts_at) > now)
        .order_by(Rally.starts_at, Rally.id)
    )
    rows = db.session.execute(query) if light else db.session.scalars(query)
    return [(r, forecast_rally(r, history)) for r in rows]


@dataclass
class Backtest:
    """How well the method forecast the campaign's own past."""

    forecasts: int
    mape: float | None
    #: Share of actual attendance that fell inside the forecast range.
    coverage: float | None
    by_basis: dict[str, int]
    skipped_first: int


def backtest(campaign_id: int, now: datetime | None = None) -> Backtest:
    """Forecast each past rally from the rallies that ended before it started; mean absolute % error."""
    history = past_rallies(campaign_id, now)
    errors: list[float] = []
    inside = 0
    by_basis: dict[str, int] = {}
    skipped = 0
    # Walk the rallies in start order, adding each past rally to the index once it has ended.
    ended = sorted(history, key=lambda p: (p.ends_at, p.id))
    index, j = HistoryIndex([]), 0
    for target in history:
        while j < len(ended) and ended[j].ends_at <= target.starts_at:
            index.add(ended[j])
            j += 1
        if not index.history:
            skipped += 1
            continue
        fake = Rally(city=target.city, state=target.state, going_people=target.going_people)
        fc = forecast_rally(fake, index)
        actual = target.checked_in_rsvp_people
        errors.append(abs(fc.expected - actual) / actual)
        inside += fc.low <= actual <= fc.high
        by_basis[fc.basis] = by_basis.get(fc.basis, 0) + 1
    n = len(errors)
    return Backtest(n, statistics.fmean(errors) if n else None, inside / n if n else None, by_basis, skipped)
