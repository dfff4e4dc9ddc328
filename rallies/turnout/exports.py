"""Exports of the comparison table, the roll-ups and a rally's check-in log, as CSV rows or JSON dicts.

CSV goes through csvsafe, so a hostile rally title such as "=HYPERLINK(...)" reaches a
spreadsheet as text. The check-in log carries only the door name ("First L."), never emails.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

import sqlalchemy as sa

from ..csvsafe import csv_rows
from ..extensions import db
from ..models import Checkin, Door, Rally, Rsvp
from .tallies import Rollup, local_label, rally_phase, rally_tally

RALLY_HEADER = (
    "rally_id", "title", "starts_at_local", "timezone", "city", "state", "status", "capacity", "going_people",
    "going_parties", "guests", "waitlisted_people", "cancelled_parties", "checked_in_people",
    "checked_in_rsvp_people", "walkin_people", "show_up_rate", "capacity_fill", "peak_rate_per_min",
)
ROLLUP_HEADER = (
    "state", "city", "rallies", "held", "turnout", "going_people", "checked_in_rsvp_people", "walkin_people",
    "avg_show_up_rate", "population", "turnout_per_100k",
)
CHECKIN_HEADER = (
    "checkin_id", "admitted_at_utc", "admitted_at_local", "door", "device", "rsvp_id", "name", "people",
    "direction", "reentry", "walk_in", "undone_at_utc", "undo_reason",
)


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def rally_record(rally: Rally, now: datetime | None = None) -> dict:
    """One comparison-table row as a dict (keys match RALLY_HEADER)."""
    tally = rally_tally(rally)
    return {
        "rally_id": rally.id, "title": rally.title,
        "starts_at_local": local_label(rally.starts_at, rally.timezone, "%Y-%m-%d %H:%M"),
        "timezone": rally.timezone, "city": rally.city, "state": rally.state, "status": rally_phase(rally, now),
        "capacity": rally.capacity, "going_people": tally.going_people, "going_parties": rally.going_parties,
        "guests": rally.guests_count, "waitlisted_people": rally.waitlisted_people,
        "cancelled_parties": rally.cancelled_parties, "checked_in_people": rally.checked_in_people,
        "checked_in_rsvp_people": rally.checked_in_rsvp_people, "walkin_people": rally.walkin_people,
        "show_up_rate": _round(tally.show_up_rate),
        "capacity_fill": _round(tally.capacity_fill),
        "peak_rate_per_min": rally.peak_rate_per_min,
    }


def rollup_record(r: Rollup) -> dict:
    """One roll-up row as a dict (keys match ROLLUP_HEADER)."""
    return {
        "state": r.state, "city": r.city, "rallies": r.rallies, "held": r.held, "turnout": r.turnout,
        "going_people": r.going_people, "checked_in_rsvp_people": r.checked_in_rsvp_people,
        "walkin_people": r.walkin_people, "avg_show_up_rate": _round(r.avg_show_up_rate),
        "population": r.population, "turnout_per_100k": _round(r.per_100k, 2),
    }


def rallies_csv(rallies: Iterable[Rally]) -> Iterator[str]:
    """CSV lines of the comparison table."""
    return csv_rows(RALLY_HEADER, ([rally_record(r)[k] for k in RALLY_HEADER] for r in rallies))


def rollups_csv(rows: Iterable[Rollup]) -> Iterator[str]:
    """CSV lines of the roll-ups."""
    return csv_rows(ROLLUP_HEADER, ([rollup_record(r)[k] for k in ROLLUP_HEADER] for r in rows))


def checkin_records(rally: Rally, after_id: int = 0, limit: int | None = None) -> Iterator[dict]:
    """The rally's check-ins (entries and exits) in id order, from after_id on, as dicts."""
    query = (
        db.select(Checkin, Door.name, Rsvp.door_name)
        .outerjoin(Door, Door.id == Checkin.door_id)
        .outerjoin(Rsvp, Rsvp.id == Checkin.rsvp_id)
        .where(Checkin.rally_id == rally.id, Checkin.id > after_id)
        .order_by(Checkin.id)
    )
    if limit:
        query = query.limit(limit)
    for c, door, name in db.session.execute(query.execution_options(yield_per=2000)):
        yield {
            "checkin_id": c.id, "admitted_at_utc": c.admitted_at.isoformat(),
            "admitted_at_local": local_label(c.admitted_at, rally.timezone, "%Y-%m-%d %H:%M:%S"),
            "door": door or "", "device": c.device_name, "rsvp_id": c.rsvp_id,
            "name": "" if c.is_walkin and not name else (name or ""), "people": c.people,
            # An exit is a row too (people leaving, at admitted_at): inside = entries - exits.
            "direction": c.direction, "reentry": c.reentry, "walk_in": c.is_walkin,
            "undone_at_utc": c.undone_at.isoformat() if c.undone_at else None, "undo_reason": c.undo_reason,
        }


def checkins_csv(rally: Rally) -> Iterator[str]:
    """CSV lines of the rally's whole check-in log (streamed)."""
    return csv_rows(CHECKIN_HEADER, ([rec[k] for k in CHECKIN_HEADER] for rec in checkin_records(rally)))


def checkin_count(rally_id: int) -> int:
    """Check-in rows of a rally (for the JSON API's paging)."""
    return db.session.scalar(db.select(sa.func.count()).select_from(Checkin).where(Checkin.rally_id == rally_id)) or 0
