"""Door throughput against the physical limit: the UK Green Guide's 11 people per minute per lane.

The Green Guide (Guide to Safety at Sports Grounds, 6th ed.) uses 660 people per hour per
turnstile for planning; that is 11 per minute per lane. Observed peaks are compared with
lanes x 11, and forecasts are turned into lanes needed for the doors-open window.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime

from ..extensions import db
from ..models import Rally, utcnow
from ..models.rallies import STATUS_CANCELLED
from .tallies import ArrivalCurve

GREEN_GUIDE_RATE = 11
#: Doors-open window assumed when a rally has no doors-open time.
DEFAULT_WINDOW_MIN = 60
#: Peak minute / average minute, when no past rally says otherwise.
DEFAULT_PEAK_FACTOR = 2.0


def lanes_for(rate_per_min: float) -> int:
    """Lanes needed to admit rate_per_min people a minute at the planning rate (at least 1)."""
    return max(1, math.ceil(rate_per_min / GREEN_GUIDE_RATE - 1e-9))


@dataclass
class DoorLoad:
    """One door's observed peak against its lanes."""

    name: str
    lanes: int
    peak: int
    limit: int
    utilisation: float
    lanes_needed: int

    @property
    def over(self) -> bool:
        return self.peak > self.limit


def door_loads(curve: ArrivalCurve) -> list[DoorLoad]:
    """Each door's peak minute against lanes x 11 people a minute."""
    out = []
    for d in curve.doors:
        lanes = max(1, d.lanes or 1)
        limit = lanes * GREEN_GUIDE_RATE
        out.append(DoorLoad(d.name, lanes, d.peak, limit, d.peak / limit, lanes_for(d.peak) if d.peak else 0))
    return out


def window_minutes(rally: Rally) -> int:
    """Minutes from doors open to the start (DEFAULT_WINDOW_MIN without a doors-open time)."""
    if rally.doors_open_at and rally.doors_open_at < rally.starts_at:
        return max(1, int((rally.starts_at - rally.doors_open_at).total_seconds() // 60))
    return DEFAULT_WINDOW_MIN


def peak_factor(campaign_id: int, now: datetime | None = None) -> tuple[float, int]:
    """(median peak-minute / average-minute ratio over past rallies, how many) from counters only."""
    query = db.select(Rally).where(
        Rally.campaign_id == campaign_id, Rally.status != STATUS_CANCELLED, Rally.ends_at <= (now or utcnow()),
        Rally.checked_in_people > 0, Rally.peak_rate_per_min > 0,
    )
    ratios = []
    for r in db.session.scalars(query):
        average = r.checked_in_people / window_minutes(r)
        ratios.append(max(1.0, r.peak_rate_per_min / average))
    return (statistics.median(ratios), len(ratios)) if ratios else (DEFAULT_PEAK_FACTOR, 0)


@dataclass
class LanePlan:
    """Lanes an upcoming rally needs to admit its forecast within the doors-open window."""

    people: int
    window_min: int
    average_rate: float
    peak_factor: float
    peak_rate: float
    lanes_needed: int
    lanes_planned: int

    @property
    def short(self) -> bool:
        return self.lanes_planned < self.lanes_needed


def lane_plan(rally: Rally, people: int, factor: float, lanes_planned: int) -> LanePlan:
    """Lanes for `people` (use the forecast's high end) arriving over the doors-open window."""
    window = window_minutes(rally)
    average = people / window
    peak = average * factor
    return LanePlan(people, window, average, factor, peak, lanes_for(peak) if people else 0, lanes_planned)
