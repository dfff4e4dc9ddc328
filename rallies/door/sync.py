"""Door sync: what a scanner device keeps in IndexedDB to decide verdicts offline.

Change numbers. Every RSVP change stamps the ticket's ``changed_seq``, and every admission or
undo stamps its check-in row's, with a number from the database (``counters.next_change_number``:
a counter on the rally's row), never from a clock, so workers and hosts whose clocks disagree
still agree on the order. Taking the number is an UPDATE of the rally row, whose lock the write
unit keeps until it commits. So, per rally, a change with a higher number commits after every
change with a lower one: any snapshot holds all of a rally's changes up to some number.

The sync therefore needs no overlap window. ``since`` is answered with ``changed_seq > since``,
and the tickets are read by one statement (one snapshot): those stamped after ``since`` and those
with a check-in stamped after it (an admission changes the ticket's count, but only its check-in
row is stamped). The next cursor is the highest number among both, which that snapshot holds
completely. Check-ins are listed by a second statement (READ COMMITTED on PostgreSQL: a later
snapshot); any it shows above the cursor come again next time, and the device applies rows by
id, so that is harmless.

The payload carries no emails or phones: ticket id, "First L.", party size, status and
people admitted, plus the check-ins of the other doors (when, where, which device) so an
offline device can say who was admitted before.
"""

from __future__ import annotations

import base64
import time

import sqlalchemy as sa

from ..extensions import db
from ..models import RSVP_UNCONFIRMED, Checkin, Door, Rally, Rsvp
from ..models.door import DIRECTION_ENTRY

#: Compact status letters keep a 30,000-ticket payload small.
STATUS_LETTER = {"going": "g", "waitlisted": "w", "cancelled": "c"}


def sync_payload(rally_id: int, door_id: int, since: int = 0) -> dict:
    """The door data changed after ``since`` (0: everything) for one rally, plus the next cursor."""
    rally = db.session.execute(
        sa.select(Rally.id, Rally.title, Rally.public_key, Rally.timezone, Rally.status, Rally.safe_capacity,
                  Rally.reentry_allowed, Rally.overflow_name, Rally.overflow_capacity).where(Rally.id == rally_id)
    ).one()
    floor = None if since <= 0 else since
    cursor = since
    tickets = []
    # The tickets' latest check-in numbers (after the floor), read in the same statement as the tickets.
    admitted = sa.select(Checkin.rsvp_id, sa.func.max(Checkin.changed_seq).label("seq")).where(
        Checkin.rally_id == rally_id, Checkin.rsvp_id.is_not(None))
    if floor is not None:
        admitted = admitted.where(Checkin.changed_seq > floor)
    admitted = admitted.group_by(Checkin.rsvp_id).subquery()
    query = (
        sa.select(Rsvp.id, Rsvp.door_name, Rsvp.guests, Rsvp.status, Rsvp.checked_in_people, Rsvp.changed_seq,
                  admitted.c.seq, Rsvp.outside_people)
        .outerjoin(admitted, admitted.c.rsvp_id == Rsvp.id)
        .where(Rsvp.rally_id == rally_id, Rsvp.status != RSVP_UNCONFIRMED)  # unconfirmed: no place, not on the list
        .order_by(Rsvp.id)  # in id order, so delta_ids() can list small differences
    )
    if floor is not None:
        query = query.where(sa.or_(Rsvp.changed_seq > floor, admitted.c.rsvp_id.is_not(None)))
    for row in db.session.execute(query):
        tickets.append([row.id, row.door_name, row.guests + 1, STATUS_LETTER.get(row.status, "c"), row.checked_in_people,
                        row.outside_people])
        cursor = max(cursor, row.changed_seq, row.seq or 0)
    checkins = []  # read after the tickets, so the cursor never passes a change they miss
    cquery = (
        sa.select(
            Checkin.id, Checkin.rsvp_id, Checkin.people, Checkin.admitted_at, Checkin.undone_at, Checkin.device_name,
            Checkin.door_id,
        )
        .where(Checkin.rally_id == rally_id, Checkin.rsvp_id.is_not(None), Checkin.direction == DIRECTION_ENTRY)
    )
    if floor is not None:
        cquery = cquery.where(Checkin.changed_seq > floor)
    doors = dict(db.session.execute(sa.select(Door.id, Door.name).where(Door.rally_id == rally_id)).all())
    for row in db.session.execute(cquery):
        checkins.append([
            row.id, row.rsvp_id, row.people, int(row.admitted_at.timestamp()), doors.get(row.door_id, ""),
            row.device_name, 1 if row.undone_at else 0,
        ])
    return {
        "rally": {
            "id": rally.id, "title": rally.title, "timezone": rally.timezone, "status": rally.status,
            "public_key": base64.b64encode(rally.public_key or b"").decode("ascii"),
            # What an offline door needs to hold at venue full (static/js/door/offline.js).
            "safe_capacity": rally.safe_capacity, "reentry_allowed": rally.reentry_allowed,
            "overflow_name": rally.overflow_name, "overflow_capacity": rally.overflow_capacity, "doors": len(doors),
        },
        "door_id": door_id,
        "full": floor is None,
        "since": since,
        "cursor": cursor,
        "server_time": time.time(),
        # [id, "First L.", party size, status letter, people admitted, of them outside again (exits)]
        "tickets": tickets,
        # Revocation list: cancelled tickets among the changes (a full sync lists them all).
        "revoked": [t[0] for t in tickets if t[3] == "c"],
        # [checkin id, ticket id, people, admitted at (epoch s), door name, device, undone]
        "checkins": checkins,
    }


def delta_ids(payload: dict) -> dict:
    """The payload with each ticket's id replaced by its difference from the previous one (the first from 0).

    Sequential ids compress poorly and were most of a big rally's sync on the wire; their differences,
    mostly 1, cost almost nothing. Tickets are listed in id order, so none is negative.
    """
    previous = 0
    for ticket in payload["tickets"]:
        ticket[0], previous = ticket[0] - previous, ticket[0]
    payload["ids"] = "delta"
    return payload
