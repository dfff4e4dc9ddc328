"""The scan log: every scan writes one ScanLog row, and a nonce seen before replays its stored answer.

The row is inserted with ``ON CONFLICT (rally_id, nonce) DO NOTHING`` in the same transaction as
the scan's effects. When the nonce was seen before, Replay rolls that transaction back (undoing
the admission, exit or undo) and the stored response is returned verbatim.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from ..database import atomic, insert
from ..extensions import db
from ..models import ScanLog
from .verdicts import Verdict

scan_t = ScanLog.__table__


class Replay(Exception):
    """The nonce was already used: roll back and return the stored response."""


_STORED = sa.select(scan_t.c.id, scan_t.c.response).where(scan_t.c.rally_id == sa.bindparam("rally"),
                                                            scan_t.c.nonce == sa.bindparam("nonce"))


def insert_scan(scan: dict, verdict: Verdict, people: int = 0) -> int:
    """Insert the ScanLog row with its response; Replay if the nonce was already used."""
    values = dict(scan, verdict=verdict.verdict, reason=verdict.reason, people=people, note=scan.get("note", ""))
    values.setdefault("conflict", False)
    values.setdefault("rsvp_id", None)
    # The stored response leaves out scan_id (unknown before the INSERT); stored_verdict adds it back.
    values["response"] = json.dumps(verdict.to_dict())
    new_scan = insert(scan_t).on_conflict_do_nothing(index_elements=["rally_id", "nonce"]).returning(scan_t.c.id)
    scan_id = db.session.execute(new_scan, values).scalar()
    if scan_id is None:
        raise Replay()
    verdict.scan_id = scan_id
    return scan_id


def refuse(scan: dict, verdict: Verdict) -> Verdict:
    """Log a refusal in its own transaction (or replay the stored answer)."""
    try:
        with atomic():
            return refuse_in_tx(scan, verdict)
    except Replay:
        return stored_verdict(scan)


def refuse_in_tx(scan: dict, verdict: Verdict) -> Verdict:
    """Log a refusal inside the caller's transaction."""
    insert_scan(scan, verdict)
    return verdict


def stored_verdict(scan: dict) -> Verdict:
    """The answer stored for the scan's nonce, marked as replayed, with its scan id."""
    row = db.session.execute(_STORED, {"rally": scan["rally_id"], "nonce": scan["nonce"]}).one_or_none()
    verdict = Verdict.from_stored(row.response if row else "")
    verdict.scan_id = row.id if row else None
    return verdict
