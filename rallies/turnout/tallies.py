"""Turnout tallies: one rally's numbers, arrival curves, the campaign comparison table and roll-ups.

Everything reads the counters the RSVP and check-in services keep on Rally, and the per-minute
ArrivalMinute rows (a door's totals are their sums), so no query here scans RSVPs or check-ins: cost grows
with the number of rallies shown, not with the number of people.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from .. import dates
from ..extensions import db
from ..models import ArrivalMinute, Rally, utcnow
from ..models.rallies import STATUS_CANCELLED
from ..rallies import counters
from .population import city_population, state_population

#: Comparison-table status filter values.
STATUSES = ("all", "upcoming", "live", "past", "cancelled")
PER_PAGE = 25
#: Longest arrival curve drawn minute by minute (a day); longer spans are left sparse.
MAX_CURVE_MINUTES = 24 * 60


def rate(numerator: int, denominator: int | None) -> float | None:
    """numerator / denominator, or None when the denominator is missing or zero."""
    return numerator / denominator if denominator else None


def rally_phase(rally: Rally, now: datetime | None = None) -> str:
    """upcoming, live, past or cancelled."""
    now = now or utcnow()
    if rally.status == STATUS_CANCELLED:
        return "cancelled"
    opens = rally.doors_open_at or rally.starts_at
    if now < opens:
        return "upcoming"
    return "live" if now < rally.ends_at else "past"


@dataclass
class RallyTally:
    """One rally's turnout numbers, straight from its counters."""

    #: People going who RSVPed ahead; walk-ins are walkin_people.
    going_people: int
    going_parties: int
    guests: int
    waitlisted_people: int
    waitlisted_parties: int
    cancelled_parties: int
    checked_in_people: int
    checked_in_rsvp_people: int
    walkin_people: int
    peak_rate_per_min: int
    capacity: int | None
    show_up_rate: float | None
    capacity_fill: float | None

    def as_dict(self) -> dict:
        """JSON-ready."""
        return dict(self.__dict__)


def rally_tally(rally: Rally) -> RallyTally:
    """Tallies of one rally (no query beyond the rally row itself)."""
    return RallyTally(
        going_people=rally.rsvp_going_people, going_parties=rally.going_parties, guests=rally.guests_count,
        waitlisted_people=rally.waitlisted_people, waitlisted_parties=rally.waitlisted_parties,
        cancelled_parties=rally.cancelled_parties, checked_in_people=rally.checked_in_people,
        checked_in_rsvp_people=rally.checked_in_rsvp_people, walkin_people=rally.walkin_people,
        peak_rate_per_min=rally.peak_rate_per_min, capacity=rally.capacity,
        show_up_rate=rate(rally.checked_in_rsvp_people, rally.rsvp_going_people),
        capacity_fill=rate(rally.checked_in_people, rally.capacity),
    )


def rally_doors(rally_id: int) -> list:
    """The rally's doors in name order: id, name, lanes and the people each admitted (walk-ins among them)."""
    return counters.door_totals(rally_id)


def arrival_rows(rally_id: int, since: datetime | None = None) -> list[tuple[int | None, datetime, int, int]]:
    """(door_id, minute, people, walkins) rows in minute order, optionally from `since` on."""
    query = db.select(ArrivalMinute.door_id, ArrivalMinute.minute, ArrivalMinute.people, ArrivalMinute.walkins).where(
        ArrivalMinute.rally_id == rally_id
    )
    if since is not None:
        query = query.where(ArrivalMinute.minute >= since)
    return [tuple(r) for r in db.session.execute(query.order_by(ArrivalMinute.minute, ArrivalMinute.door_id))]


@dataclass
class DoorSeries:
    """One door's people per minute along the curve's minute axis."""

    door_id: int | None
    name: str
    lanes: int
    checked_in_people: int
    walkin_people: int
    counts: list[int]
    peak: int = 0
    peak_minute: datetime | None = None


@dataclass
class ArrivalCurve:
    """Minute axis (UTC) with per-door and total series."""

    minutes: list[datetime] = field(default_factory=list)
    doors: list[DoorSeries] = field(default_factory=list)
    total: list[int] = field(default_factory=list)
    peak: int = 0
    peak_minute: datetime | None = None


def arrival_curve(rally: Rally, rows: list | None = None, doors: list | None = None) -> ArrivalCurve:
    """Check-ins per minute per door and in total, gaps filled with zeros (``rows``/``doors``: a part, e.g. one
    volunteer's admissions and their door totals; default: the rally's arrival minutes and doors)."""
    rows = arrival_rows(rally.id) if rows is None else rows
    doors = rally_doors(rally.id) if doors is None else doors
    curve = ArrivalCurve()
    if rows:
        first, last = rows[0][1], rows[-1][1]
        span = int((last - first).total_seconds() // 60) + 1
        if span <= MAX_CURVE_MINUTES:
            curve.minutes = [first + timedelta(minutes=i) for i in range(span)]
        else:  # a very long span: only the minutes that had arrivals
            curve.minutes = sorted({r[1] for r in rows})
    position = {m: i for i, m in enumerate(curve.minutes)}
    series = {
        d.id: DoorSeries(d.id, d.name, d.lanes, d.checked_in_people, d.walkin_people, [0] * len(curve.minutes))
        for d in doors
    }
    curve.total = [0] * len(curve.minutes)
    for door_id, minute, people, _walkins in rows:
        if door_id not in series:  # arrivals recorded without a door (or a door since deleted)
            series[door_id] = DoorSeries(door_id, "No door recorded", 1, 0, 0, [0] * len(curve.minutes))
        i = position[minute]
        series[door_id].counts[i] += people
        curve.total[i] += people
    for s in series.values():
        if s.counts:
            s.peak = max(s.counts)
            s.peak_minute = curve.minutes[s.counts.index(s.peak)] if s.peak else None
    curve.doors = list(series.values())
    if curve.total:
        curve.peak = max(curve.total)
        curve.peak_minute = curve.minutes[curve.total.index(curve.peak)]
    return curve


@dataclass
class OverLimit:
    """A time the venue held more people than its safe capacity: from the first minute over to the last."""

    start: datetime
    end: datetime
    peak: int
    over_by: int


@dataclass
class Occupancy:
    """People inside at the end of each minute of the arrival curve's axis (venue and overflow area)."""

    venue: list[int] = field(default_factory=list)
    overflow: list[int] = field(default_factory=list)
    peak: int = 0
    over_limit: list[OverLimit] = field(default_factory=list)


def occupancy(rally: Rally, minutes: list[datetime]) -> Occupancy:
    """The occupancy curve along ``minutes`` and every time the venue went over its safe capacity.

    From the arrival minutes (entries and re-entries minus exits, by the time people came in or
    left: the device's time for offline scans), so it is right once offline doors have synced. By
    the minute: people in and out within one minute net out before the comparison.
    """
    net = ArrivalMinute.people + ArrivalMinute.reentries - ArrivalMinute.exits
    rows = db.session.execute(
        db.select(ArrivalMinute.minute, sa.func.sum(net), sa.func.sum(ArrivalMinute.overflow))
        .where(ArrivalMinute.rally_id == rally.id).group_by(ArrivalMinute.minute).order_by(ArrivalMinute.minute)).all()
    result = Occupancy()
    by_minute: dict[datetime, tuple[int, int]] = {}
    inside = overflow = 0
    period: OverLimit | None = None
    for minute, change, into_overflow in rows:
        overflow += int(into_overflow or 0)
        inside += int(change or 0) - int(into_overflow or 0)
        by_minute[minute] = (inside, overflow)
        result.peak = max(result.peak, inside)
        limit = rally.safe_capacity
        if limit is not None and inside > limit:
            if period is None:
                period = OverLimit(minute, minute, inside, inside - limit)
                result.over_limit.append(period)
            period.end, period.peak = minute, max(period.peak, inside)
            period.over_by = period.peak - limit
        else:
            period = None
    last = (0, 0)
    for minute in minutes:
        last = by_minute.get(minute, last)
        result.venue.append(last[0])
        result.overflow.append(last[1])
    return result


def local_label(moment: datetime, zone: str, fmt: str = "%H:%M") -> str:
    """A UTC moment in the rally's zone, for exports and chart axes (pages use dates.local_time)."""
    return moment.astimezone(dates.zone(zone)).strftime(fmt)


# --- The campaign comparison table --------------------------------------------------------------


@dataclass
class RallyFilters:
    """Comparison filters, already validated by the view's form."""

    date_from: date | None = None
    date_to: date | None = None
    state: str = ""
    city: str = ""
    status: str = "all"


_show_up = sa.case((Rally.rsvp_going_people > 0,
                     sa.cast(Rally.checked_in_rsvp_people, sa.Float) / Rally.rsvp_going_people))
_fill = sa.case(
    (Rally.capacity > 0, sa.cast(Rally.checked_in_people, sa.Float) / sa.func.coalesce(Rally.capacity, 1))
)

#: Sort key -> column expression.
SORTS = {
    "date": Rally.starts_at, "title": Rally.title, "city": Rally.city, "state": Rally.state,
    "capacity": Rally.capacity, "rsvps": Rally.rsvp_going_people, "checked_in": Rally.checked_in_people,
    "walkins": Rally.walkin_people, "show_up": _show_up, "fill": _fill, "peak": Rally.peak_rate_per_min,
}


def _filtered(campaign_id: int, filters: RallyFilters, now: datetime):
    """WHERE clauses for the campaign's rallies matching the filters."""
    clauses = [Rally.campaign_id == campaign_id]
    if filters.date_from:
        clauses.append(Rally.starts_at >= datetime.combine(filters.date_from, time.min, UTC))
    if filters.date_to:
        clauses.append(Rally.starts_at < datetime.combine(filters.date_to + timedelta(days=1), time.min, UTC))
    if filters.state:
        clauses.append(sa.func.upper(Rally.state) == filters.state.upper())
    if filters.city:
        clauses.append(sa.func.lower(Rally.city) == filters.city.strip().lower())
    opens = sa.func.coalesce(Rally.doors_open_at, Rally.starts_at)
    scheduled = Rally.status != STATUS_CANCELLED
    if filters.status == "cancelled":
        clauses.append(Rally.status == STATUS_CANCELLED)
    elif filters.status == "upcoming":
        clauses += [scheduled, opens > now]
    elif filters.status == "live":
        clauses += [scheduled, opens <= now, Rally.ends_at > now]
    elif filters.status == "past":
        clauses += [scheduled, Rally.ends_at <= now]
    return clauses


def _order(sort: str, descending: bool) -> tuple:
    """ORDER BY for the table and its export: the sort key (unknown keys: date), then id the same way."""
    key = SORTS.get(sort, Rally.starts_at)
    if descending:
        return key.desc().nulls_last(), Rally.id.desc()
    return key.asc().nulls_last(), Rally.id


@dataclass
class ComparisonPage:
    """One page of the comparison table."""

    rows: list[Rally]
    total: int
    page: int
    pages: int
    per_page: int
    #: The asked-for page was past the end; the last page is shown instead.
    clamped: bool = False


def comparison_page(
    campaign_id: int, filters: RallyFilters, sort: str = "date", descending: bool = True,
    page: int = 1, per_page: int = PER_PAGE, now: datetime | None = None,
) -> ComparisonPage:
    """The campaign's rallies matching the filters, sorted and paginated (page is 1-based)."""
    clauses = _filtered(campaign_id, filters, now or utcnow())
    total = db.session.scalar(db.select(sa.func.count()).select_from(Rally).where(*clauses)) or 0
    pages = max(1, math.ceil(total / per_page))
    clamped = page > pages
    page = min(max(1, page), pages)
    query = db.select(Rally).where(*clauses).order_by(*_order(sort, descending))
    rows = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return ComparisonPage(rows, total, page, pages, per_page, clamped)


def comparison_rows(campaign_id: int, filters: RallyFilters, sort: str = "date", descending: bool = True,
                    now: datetime | None = None) -> list[Rally]:
    """Every matching rally (for exports), in the table's order."""
    clauses = _filtered(campaign_id, filters, now or utcnow())
    return list(db.session.scalars(db.select(Rally).where(*clauses).order_by(*_order(sort, descending))))


def campaign_states(campaign_id: int) -> list[str]:
    """Distinct states the campaign has rallies in, for the filter's choices."""
    query = db.select(sa.func.upper(Rally.state)).where(Rally.campaign_id == campaign_id, Rally.state != "").distinct()
    return sorted(db.session.scalars(query))


# --- City and state roll-ups ----------------------------------------------------------------------


@dataclass
class Rollup:
    """Turnout for one city or state."""

    state: str
    city: str
    rallies: int
    held: int
    turnout: int
    going_people: int
    checked_in_rsvp_people: int
    walkin_people: int
    avg_show_up_rate: float | None
    population: int | None
    per_100k: float | None

    def as_dict(self) -> dict:
        """JSON-ready."""
        return dict(self.__dict__)


def rollups(campaign_id: int, level: str = "city", filters: RallyFilters | None = None,
            now: datetime | None = None) -> list[Rollup]:
    """Per-city (or per-state) totals: rallies, turnout, average show-up rate, turnout per 100,000.

    Turnout counts everyone admitted (walk-ins too) at rallies that have opened. The average
    show-up rate is the mean of each held rally's rate (rallies with no RSVPs are left out).
    """
    now = now or utcnow()
    clauses = _filtered(campaign_id, filters or RallyFilters(), now)
    held = sa.and_(Rally.status != STATUS_CANCELLED, sa.func.coalesce(Rally.doors_open_at, Rally.starts_at) <= now)
    state_key = sa.func.upper(Rally.state)
    keys = [state_key] if level == "state" else [state_key, Rally.city]
    query = (
        db.select(
            *keys,
            sa.func.count(Rally.id),
            sa.func.sum(sa.case((held, 1), else_=0)),
            sa.func.sum(sa.case((held, Rally.checked_in_people), else_=0)),
            sa.func.sum(sa.case((held, Rally.rsvp_going_people), else_=0)),
            sa.func.sum(sa.case((held, Rally.checked_in_rsvp_people), else_=0)),
            sa.func.sum(sa.case((held, Rally.walkin_people), else_=0)),
            sa.func.avg(sa.case((sa.and_(held, Rally.rsvp_going_people > 0), _show_up))),
        )
        .where(*clauses)
        .group_by(*keys)
    )
    out = []
    for row in db.session.execute(query):
        if level == "state":
            state, city, rest = row[0], "", row[1:]
            population = state_population(state)
        else:
            state, city, rest = row[0], row[1], row[2:]
            population = city_population(city, state)
        count, held_n, turnout, going, rsvp_in, walkins, avg_rate = rest
        turnout = int(turnout or 0)
        out.append(Rollup(
            state=state or "", city=city or "", rallies=int(count), held=int(held_n or 0), turnout=turnout,
            going_people=int(going or 0), checked_in_rsvp_people=int(rsvp_in or 0), walkin_people=int(walkins or 0),
            avg_show_up_rate=float(avg_rate) if avg_rate is not None else None, population=population,
            per_100k=turnout * 100_000 / population if population and held_n else None,
        ))
    out.sort(key=lambda r: (-r.turnout, r.state, r.city))
    return out
