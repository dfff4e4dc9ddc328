"""Door sync: what a scanner device keeps in IndexedDB to decide verdicts offline.

Change numbers (``changed_seq`` on RSVPs and check-ins) are microseconds since the epoch,
kept strictly increasing within a process. They are not a gap-free global sequence: a
transaction may commit a little after one with a higher number. So the server answers
``since`` with everything changed after ``since - OVERLAP`` and the device applies rows by
id (idempotent), which closes that window without a shared counter. RSVP changes use the same
numbers. Older data and the demo's RSVPs may carry small counters (1, 2, 3 ...): below
TIME_BASED cursors are taken as such counters and need no overlap.

The payload carries no emails or phones: ticket id, "First L.", party size, status and
people admitted, plus the check-ins of the other doors (when, where, which device) so an
offline device can say who was admitted before.
"""

from __future__ import annotations

import base64
import threading
import time

import sqlalchemy as sa

from ..extensions import db
from ..models import RSVP_UNCONFIRMED, Checkin, Door, Rally, Rsvp

#: Microseconds of change numbers re-sent on every incremental sync (see module docstring).
OVERLAP = 30_000_000
#: Cursors at least this large are microsecond timestamps (after 2001), so they get the overlap.
TIME_BASED = 10**15
#: Compact status letters keep a 30,000-ticket payload small.
STATUS_LETTER = {"going": "g", "waitlisted": "w", "cancelled": "c"}

_lock = threading.Lock()
_last = 0


def next_seq() -> int:
    """A new change number: microseconds since the epoch, strictly increasing in this process."""
    global _last
    with _lock:
        _last = max(_last + 1, time.time_ns() // 1000)
        return _last


def sync_payload(rally_id: int, door_id: int, since: int = 0) -> dict:
    """The door data changed after ``since`` (0: everything) for one rally, plus the next cursor."""
    rally = db.session.execute(
        sa.select(Rally.id, Rally.title, Rally.public_key, Rally.timezone, Rally.status).where(Rally.id == rally_id)
    ).one()
    floor = None if since <= 0 else (since - OVERLAP if since >= TIME_BASED else since)
    cursor = since
    tickets = []
    query = sa.select(
        Rsvp.id, Rsvp.door_name, Rsvp.guests, Rsvp.status, Rsvp.checked_in_people, Rsvp.changed_seq
    ).where(Rsvp.rally_id == rally_id, Rsvp.status != RSVP_UNCONFIRMED)  # unconfirmed: no place, not on the list
    if floor is not None:
        query = query.where(Rsvp.changed_seq > floor)
    for row in db.session.execute(query):
        tickets.append([row.id, row.door_name, row.guests + 1, STATUS_LETTER.get(row.status, "c"), row.checked_in_people])
        cursor = max(cursor, row.changed_seq or 0)
    checkins = []
    cquery = (
        sa.select(
            Checkin.id, Checkin.rsvp_id, Checkin.people, Checkin.admitted_at, Checkin.undone_at, Checkin.device_name,
            Checkin.door_id, Checkin.changed_seq,
        )
        .where(Checkin.rally_id == rally_id, Checkin.rsvp_id.is_not(None))
    )
    if floor is not None:
        cquery = cquery.where(Checkin.changed_seq > floor)
    doors = dict(db.session.execute(sa.select(Door.id, Door.name).where(Door.rally_id == rally_id)).all())
    for row in db.session.execute(cquery):
        checkins.append([
            row.id, row.rsvp_id, row.people, int(row.admitted_at.timestamp()), doors.get(row.door_id, ""),
            row.device_name, 1 if row.undone_at else 0,
        ])
        cursor = max(cursor, row.changed_seq or 0)
    return {
        "rally": {
            "id": rally.id, "title": rally.title, "timezone": rally.timezone, "status": rally.status,
            "public_key": base64.b64encode(rally.public_key or b"").decode("ascii"),
        },
        "door_id": door_id,
        "full": floor is None,
        "since": since,
        "cursor": cursor,
        "server_time": time.time(),
        # [id, "First L.", party size, status letter, people admitted]
        "tickets": tickets,
        # Revocation list: cancelled tickets among the changes (a full sync lists them all).
        "revoked": [t[0] for t in tickets if t[3] == "c"],
        # [checkin id, ticket id, people, admitted at (epoch s), door name, device, undone]
        "checkins": checkins,
    }
