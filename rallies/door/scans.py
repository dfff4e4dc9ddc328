"""Door read models: name search, live counters, the scan log and the offline conflict report."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import ArrivalMinute, Checkin, Door, DoorSession, Rally, Rsvp, ScanLog, utcnow
from ..models.door import DIRECTION_ENTRY
from ..rallies import counters

MIN_QUERY = 2


def like_escape(text: str) -> str:
    """Escape LIKE wildcards so user text matches literally (escape char: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_tickets(rally_id: int, query: str, limit: int = 20) -> list[dict]:
    """Tickets whose name has a word starting with the query (case and accents ignored).

    Names only: search_name holds no email or phone, so guessing character by character
    recovers nothing a door device should not hold. Returns only what the door shows:
    id, "First L.", party, status, people admitted.
    """
    from ..rsvp.names import fold

    folded = " ".join(fold((query or "").replace("\x00", "")).split())[:100]  # PostgreSQL refuses NUL
    if len(folded) < MIN_QUERY:
        return []
    pattern = like_escape(folded)
    rows = db.session.execute(
        sa.select(Rsvp.id, Rsvp.door_name, Rsvp.guests, Rsvp.status, Rsvp.checked_in_people, Rsvp.is_walkin)
        .where(Rsvp.rally_id == rally_id)
        .where(sa.or_(Rsvp.search_name.like(pattern + "%", escape="\\"),
                      Rsvp.search_name.like("% " + pattern + "%", escape="\\")))
        .order_by(Rsvp.search_name, Rsvp.id).limit(max(1, min(limit, 50)))
    )
    return [
        {"id": r.id, "name": r.door_name, "party": r.guests + 1, "status": r.status, "checked_in": r.checked_in_people,
         "remaining": max(0, r.guests + 1 - r.checked_in_people), "walkin": r.is_walkin}
        for r in rows
    ]


def _rate(rally_id: int, door_id: int | None, now: datetime) -> int:
    """People admitted in the last 5 minutes (ArrivalMinute rows, never the check-in table)."""
    query = sa.select(sa.func.coalesce(sa.func.sum(ArrivalMinute.people), 0)).where(
        ArrivalMinute.rally_id == rally_id, ArrivalMinute.minute > now - timedelta(minutes=5))
    if door_id is not None:
        query = query.where(ArrivalMinute.door_id == door_id)
    return int(db.session.scalar(query) or 0)


def inside_now(rally_id: int, door_id: int | None) -> dict:
    """People inside now: the rally's venue and overflow area (with their limits), and this door's net flow."""
    rally = db.session.execute(sa.select(Rally.inside_people, Rally.safe_capacity, Rally.overflow_people,
                                         Rally.overflow_name, Rally.overflow_capacity)
                               .where(Rally.id == rally_id)).one()
    body = {"rally": rally.inside_people, "safe_capacity": rally.safe_capacity,
            "full": rally.safe_capacity is not None and rally.inside_people >= rally.safe_capacity,
            "overflow": {"name": rally.overflow_name, "inside": rally.overflow_people,
                         "capacity": rally.overflow_capacity} if rally.overflow_name else None}
    if door_id is not None:
        (door,) = counters.door_totals(rally_id, door_id)
        body["door"] = int(door.inside_people)
    return body


def door_status(rally_id: int, door_id: int, with_conflicts: bool = False) -> dict:
    """Live counters for one door and its whole rally (with the conflict count, for supervisors)."""
    now = utcnow()
    rally = db.session.execute(sa.select(
        Rally.id, Rally.title, Rally.capacity, Rally.going_people, Rally.checked_in_people, Rally.walkin_people,
        Rally.checked_in_rsvp_people, Rally.peak_rate_per_min, Rally.timezone, Rally.inside_people, Rally.safe_capacity,
        Rally.overflow_name, Rally.overflow_people, Rally.overflow_capacity,
    ).where(Rally.id == rally_id)).one()
    (door,) = counters.door_totals(rally_id, door_id)
    body = {
        "server_time": now.isoformat(),
        "rally": {"id": rally.id, "title": rally.title, "timezone": rally.timezone, "capacity": rally.capacity,
                  "going": rally.going_people, "admitted": rally.checked_in_people, "walkins": rally.walkin_people,
                  "admitted_with_rsvp": rally.checked_in_rsvp_people, "peak_per_min": rally.peak_rate_per_min,
                  "at_capacity": rally.capacity is not None and rally.checked_in_people >= rally.capacity,
                  "last5": _rate(rally_id, None, now), "inside": rally.inside_people,
                  "safe_capacity": rally.safe_capacity,
                  "venue_full": rally.safe_capacity is not None and rally.inside_people >= rally.safe_capacity,
                  "overflow": {"name": rally.overflow_name, "inside": rally.overflow_people,
                               "capacity": rally.overflow_capacity} if rally.overflow_name else None},
        "door": {"id": door.id, "name": door.name, "admitted": door.checked_in_people, "walkins": door.walkin_people,
                 "last5": _rate(rally_id, door_id, now), "inside": int(door.inside_people)},
    }
    if with_conflicts:
        body["rally"]["conflicts"] = db.session.scalar(sa.select(sa.func.count()).select_from(ScanLog).where(
            ScanLog.rally_id == rally_id, ScanLog.conflict.is_(True)))
    return body


def scan_log(rally_id: int, door_id: int | None = None, before_id: int | None = None, limit: int = 50,
             conflicts_only: bool = False, hide_invalid: bool = False, link_id: int | None = None) -> list[dict]:
    """Scans newest first (keyset paging with before_id); hide_invalid leaves out junk (unreadable or forged codes);
    link_id keeps the scans of devices one door link opened (a volunteer's own link: their scans)."""
    query = (sa.select(ScanLog, Door.name.label("door_name"), Rsvp.door_name.label("ticket_name"))
             .outerjoin(Door, Door.id == ScanLog.door_id).outerjoin(Rsvp, Rsvp.id == ScanLog.rsvp_id)
             .where(ScanLog.rally_id == rally_id).order_by(ScanLog.id.desc()).limit(max(1, min(limit, 500))))
    if door_id is not None:
        query = query.where(ScanLog.door_id == door_id)
    if before_id:
        query = query.where(ScanLog.id < before_id)
    if conflicts_only:
        query = query.where(ScanLog.conflict.is_(True))
    if hide_invalid:
        query = query.where(ScanLog.verdict != "invalid")
    if link_id is not None:
        query = query.where(ScanLog.session_id.in_(sa.select(DoorSession.id).where(DoorSession.link_id == link_id)))
    out = []
    for scan, door_name, ticket_name in db.session.execute(query):
        out.append({
            "id": scan.id, "verdict": scan.verdict, "reason": scan.reason, "ticket_id": scan.rsvp_id,
            "ticket_name": ticket_name or "", "people": scan.people, "door": door_name or "", "device": scan.device_name,
            "client_time": scan.client_time.isoformat() if scan.client_time else None,
            "received_at": scan.received_at.isoformat(), "offline": scan.offline, "forced": scan.forced,
            "clock_flagged": scan.clock_flagged, "conflict": scan.conflict, "note": scan.note,
        })
    return out


def conflict_report(rally_id: int) -> list[dict]:
    """Offline scans the server could not count as they were: tickets admitted more often than their
    party allows, and overrides (a cancelled or waitlisted ticket let in while offline, counted as no one).

    One entry per conflicting scan: the ticket, and every admission of it (door, device, time).
    """
    conflicts = db.session.execute(
        sa.select(ScanLog.id, ScanLog.rsvp_id, ScanLog.people, ScanLog.client_time, ScanLog.received_at,
                  ScanLog.verdict, ScanLog.reason,
                  ScanLog.device_name, Door.name.label("door_name"), Rsvp.door_name.label("ticket_name"),
                  Rsvp.guests)
        .outerjoin(Door, Door.id == ScanLog.door_id).outerjoin(Rsvp, Rsvp.id == ScanLog.rsvp_id)
        .where(ScanLog.rally_id == rally_id, ScanLog.conflict.is_(True)).order_by(ScanLog.id)
    ).all()
    ids = {c.rsvp_id for c in conflicts if c.rsvp_id}
    admissions: dict[int, list[dict]] = {}
    if ids:
        for row in db.session.execute(
            sa.select(Checkin.rsvp_id, Checkin.people, Checkin.admitted_at, Checkin.device_name, Door.name)
            .outerjoin(Door, Door.id == Checkin.door_id)
            .where(Checkin.rsvp_id.in_(ids), Checkin.undone_at.is_(None), Checkin.direction == DIRECTION_ENTRY)
            .order_by(Checkin.admitted_at)
        ):
            admissions.setdefault(row.rsvp_id, []).append(
                {"door": row.name or "", "device": row.device_name, "at": row.admitted_at, "people": row.people})
    return [
        {"scan_id": c.id, "ticket_id": c.rsvp_id, "ticket_name": c.ticket_name or "", "party": (c.guests or 0) + 1,
         "door": c.door_name or "", "device": c.device_name, "at": c.client_time or c.received_at, "people": c.people,
         "override": c.reason == "offline_override", "verdict": c.verdict,
         "admissions": admissions.get(c.rsvp_id, [])}
        for c in conflicts
    ]
