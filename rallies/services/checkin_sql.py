"""The check-in hot path's SQL, built once at import (portable to SQLite and PostgreSQL).

Building SQLAlchemy expressions and their cache keys on every scan cost more CPU than the
database work itself, so the statements a scan runs are prebuilt. The two reads are text()
constructs with typed results; the writes go straight to the DBAPI cursor of the session's
own connection (same transaction), with datetimes bound the way UTCDateTime stores them.
That halves the CPU of a scan; the benchmark (bench/bench_checkin.py) is the reason.
``INSERT ... ON CONFLICT`` and ``RETURNING`` run on SQLite 3.35+ and PostgreSQL.
"""

from __future__ import annotations

import re
from collections import namedtuple
from datetime import UTC, datetime

from ..extensions import db


class Write:
    """A write statement with :name parameters, run on the session's DBAPI connection."""

    def __init__(self, sql: str, *datetimes: str):
        self.sqlite = sql
        self.postgresql = re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql)
        self.datetimes = datetimes

    def _execute(self, params: dict):
        connection = db.session.connection()
        raw = connection.connection.driver_connection
        if connection.dialect.name == "sqlite":
            params = dict(params)
            for name in self.datetimes:
                value = params.get(name)
                if isinstance(value, datetime):
                    # UTCDateTime's SQLite form, so keys (arrival minutes) match rows written by the ORM.
                    params[name] = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            sql = self.sqlite
        else:
            sql = self.postgresql
        cursor = raw.cursor()
        cursor.execute(sql, params)
        return cursor

    def __call__(self, params: dict) -> None:
        """Execute in the current transaction."""
        self._execute(params).close()

    def scalar(self, params: dict):
        """The first column of the first RETURNING row, or None."""
        cursor = self._execute(params)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return row[0] if row else None


def utc(value) -> datetime | None:
    """A UTCDateTime column value read by the driver (SQLite text, PostgreSQL datetime) as aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Read(Write):
    """A one-row SELECT on the session's DBAPI connection; datetime columns come back aware UTC."""

    def __init__(self, sql: str, fields: str, *datetime_fields: str):
        super().__init__(sql)
        self.row = namedtuple("Row", fields)
        self.datetime_index = [self.row._fields.index(name) for name in datetime_fields]

    def one_or_none(self, params: dict):
        """The row (a namedtuple), or None."""
        cursor = self._execute(params)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        if row is None:
            return None
        values = list(row)
        for i in self.datetime_index:
            values[i] = utc(values[i])
        values = [bytes(v) if isinstance(v, memoryview) else v for v in values]
        return self.row(*values)


TICKET = Read(
    "SELECT r.id, r.rally_id, r.status, r.guests, r.checked_in_people, r.door_name, y.public_key, y.title, "
    "y.starts_at FROM rsvp r JOIN rally y ON y.id = r.rally_id WHERE r.id = :id",
    "id rally_id status guests checked_in_people door_name public_key title starts_at", "starts_at",
)
SESSION = Read(
    "SELECT s.id, s.door_id, s.rally_id, s.role, s.device_name, s.revoked_at, s.last_seen_at, s.user_id, s.link_id, "
    "l.revoked_at AS link_revoked_at, l.expires_at AS link_expires_at, d.name AS door_name, y.campaign_id, "
    "s.created_at, y.doors_open_at, y.starts_at, y.ends_at FROM door_session s JOIN door d ON d.id = s.door_id JOIN rally y ON y.id = s.rally_id "
    "LEFT OUTER JOIN door_link l ON l.id = s.link_id WHERE s.token_hash = :hash",
    "id door_id rally_id role device_name revoked_at last_seen_at user_id link_id link_revoked_at link_expires_at "
    "door_name campaign_id created_at doors_open_at starts_at ends_at",
    "revoked_at", "last_seen_at", "link_revoked_at", "link_expires_at", "created_at", "doors_open_at", "starts_at",
    "ends_at",
)
ADMIT = Write(
    "UPDATE rsvp SET checked_in_people = checked_in_people + :n, changed_seq = :seq "
    "WHERE id = :id AND status = 'going' AND checked_in_people + :n <= guests + 1 RETURNING checked_in_people"
)
ADMIT_FORCED = Write(
    "UPDATE rsvp SET checked_in_people = checked_in_people + :n, changed_seq = :seq "
    "WHERE id = :id AND checked_in_people + :n <= guests + 1 RETURNING checked_in_people"
)
SCAN_INSERT = Write(
    "INSERT INTO scan_log (rally_id, door_id, session_id, device_name, rsvp_id, nonce, code, verdict, reason, people, "
    "forced, offline, clock_flagged, conflict, note, client_time, received_at, response) VALUES (:rally_id, :door_id, "
    ":session_id, :device_name, :rsvp_id, :nonce, :code, :verdict, :reason, :people, :forced, :offline, "
    ":clock_flagged, :conflict, :note, :client_time, :received_at, :response) "
    "ON CONFLICT (rally_id, nonce) DO NOTHING RETURNING id",
    "client_time", "received_at",
)
CHECKIN_INSERT = Write(
    "INSERT INTO checkin (rally_id, rsvp_id, door_id, scan_id, device_name, people, is_walkin, admitted_at, "
    "changed_seq, undo_reason) VALUES (:rally_id, :rsvp_id, :door_id, :scan_id, :device_name, :people, :is_walkin, "
    ":admitted_at, :seq, '')",
    "admitted_at",
)
MINUTE_UPSERT = Write(
    "INSERT INTO arrival_minute (rally_id, door_id, minute, people, walkins) VALUES (:rally_id, :door_id, :minute, "
    ":n, :w) ON CONFLICT (rally_id, door_id, minute) DO UPDATE SET people = arrival_minute.people + excluded.people, "
    "walkins = arrival_minute.walkins + excluded.walkins",
    "minute",
)
MINUTE_UPDATE = Write(
    "UPDATE arrival_minute SET people = people + :n, walkins = walkins + :w "
    "WHERE rally_id = :rally_id AND door_id = :door_id AND minute = :minute",
    "minute",
)
DOOR_UPDATE = Write(
    "UPDATE door SET checked_in_people = checked_in_people + :n, walkin_people = walkin_people + :w WHERE id = :id"
)
# The peak is the busiest minute over all doors: the sum for this minute, read after this
# scan's own upsert (an index on arrival_minute (rally_id, minute) keeps it a short range scan).
RALLY_UPDATE = Write(
    "UPDATE rally SET checked_in_people = checked_in_people + :n, "
    "checked_in_rsvp_people = checked_in_rsvp_people + :rn, walkin_people = walkin_people + :w, "
    "peak_rate_per_min = CASE WHEN (SELECT SUM(people) FROM arrival_minute WHERE rally_id = :id AND minute = :minute) "
    "> peak_rate_per_min THEN (SELECT SUM(people) FROM arrival_minute WHERE rally_id = :id AND minute = :minute) "
    "ELSE peak_rate_per_min END WHERE id = :id "
    "RETURNING CASE WHEN capacity IS NOT NULL AND checked_in_people >= capacity THEN 1 ELSE 0 END",
    "minute",
)
RALLY_UNDO = Write(
    "UPDATE rally SET checked_in_people = checked_in_people + :n, "
    "checked_in_rsvp_people = checked_in_rsvp_people + :rn, walkin_people = walkin_people + :w WHERE id = :id "
    "RETURNING CASE WHEN capacity IS NOT NULL AND checked_in_people >= capacity THEN 1 ELSE 0 END"
)
