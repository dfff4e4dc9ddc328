"""An app process for tests/test_sync.py's clock-skew proof: runs RSVPs, check-ins and syncs it is sent.

Reads one JSON command per line on stdin and answers one JSON line on stdout. Started under
libfaketime, its clock differs from the test's; the database is the test's PostgreSQL.
"""

from __future__ import annotations

import json
import sys

from config import TestingConfig
from rallies import create_app
from rallies.door import doors
from rallies.door.checkin import check_in
from rallies.door.sync import sync_payload
from rallies.extensions import db
from rallies.models import Rally
from rallies.rsvp.rsvps import RsvpInput, create_or_update_rsvp


def run(command: dict) -> dict:
    """Do one command in this process and say what happened."""
    if command["op"] == "rsvp":
        rally = db.session.get(Rally, command["rally"])
        result = create_or_update_rsvp(rally, RsvpInput(name=command["name"], email=command["email"]))
        return {"id": result.rsvp_id, "outcome": result.outcome}
    if command["op"] == "checkin":
        ctx = doors.authenticate(command["secret"], command["door"])
        return check_in(command["code"], ctx, nonce=command["nonce"]).to_dict()
    if command["op"] == "sync":
        return sync_payload(command["rally"], command["door"], command["since"])
    raise ValueError(command["op"])


def main() -> None:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=sys.argv[1])
    with app.app_context():
        for line in sys.stdin:
            answer = run(json.loads(line))
            db.session.rollback()  # nothing stays open between commands
            print(json.dumps(answer, default=str), flush=True)


if __name__ == "__main__":
    main()
