"""The door sync cursor: an incremental sync never misses a change and resends nothing it need not.

door/sync.py: change numbers come from the database after the rally's row lock, so per rally
they follow commit order (tests/test_sync.py checks the lock-then-number order in the SQL sent).
``since`` is answered with exactly the rows numbered above it; the cursor is the highest ticket
number of that snapshot.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from rallies.database import atomic
from rallies.door.checkin import check_in
from rallies.door.sync import sync_payload
from rallies.extensions import db
from rallies.models import Checkin, Rsvp
from rallies.rsvp.rsvps import RsvpInput, cancel_rsvp, create_or_update_rsvp
from tests.factories import at_door, campaign_of, door_session, make_door, make_ticket, nonce, quick_rsvp


@pytest.fixture
def door(make_user, make_rally):
    return at_door(campaign_of(make_user()), capacity=3, max_guests=3)


def pull(door, since=0) -> dict:
    db.session.expire_all()
    return sync_payload(door.rally.id, door.door.id, since)


def ticket_ids(payload) -> set[int]:
    return {t[0] for t in payload["tickets"]}


def renumber(model, row_id: int, seq: int) -> None:
    """Set a row's change number (to put it exactly on or after a cursor)."""
    with atomic():
        db.session.execute(sa.update(model).where(model.id == row_id).values(changed_seq=seq))


def test_full_sync_lists_every_ticket_but_unconfirmed(door):
    going, _ = quick_rsvp(door.rally, guests=1)
    going2, _ = quick_rsvp(door.rally)
    waiting, _ = quick_rsvp(door.rally)
    gone, _ = quick_rsvp(door.rally)
    cancel_rsvp(db.session.get(Rsvp, gone), notify=False)
    hidden, _ = make_ticket(door.rally, status="unconfirmed")
    payload = pull(door)
    assert payload["full"] is True
    rows = {t[0]: t[2:5] for t in payload["tickets"]}
    assert rows == {going: [2, "g", 0], going2: [1, "g", 0], waiting: [1, "w", 0], gone: [1, "c", 0]}
    assert payload["revoked"] == [gone]
    assert hidden.id not in rows
    assert payload["cursor"] == max(r.changed_seq for r in db.session.scalars(sa.select(Rsvp)))


def test_a_change_after_a_sync_reaches_the_next_sync(door):
    quick_rsvp(door.rally)
    first = pull(door)
    late, _ = quick_rsvp(door.rally)
    second = pull(door, first["cursor"])
    assert ticket_ids(second) == {late} and second["cursor"] > first["cursor"]


def test_a_check_in_after_a_sync_reaches_the_next_sync(door):
    ticket, code = make_ticket(door.rally)
    quick_rsvp(door.rally)
    first = pull(door)
    assert check_in(code, door.scanner, nonce=nonce()).admitted == 1
    checkin_id = db.session.scalar(sa.select(Checkin.id).where(Checkin.rsvp_id == ticket.id))
    second = pull(door, first["cursor"])
    assert [c[0:3] for c in second["checkins"]] == [[checkin_id, ticket.id, 1]]
    assert [t[4] for t in second["tickets"] if t[0] == ticket.id] == [1]


def test_since_is_exact(door):
    """No overlap: the row numbered ``since`` is not sent again, the one above it is."""
    quick_rsvp(door.rally)
    cursor = pull(door)["cursor"]
    on, _ = quick_rsvp(door.rally)
    above, _ = quick_rsvp(door.rally)
    renumber(Rsvp, on, cursor)
    renumber(Rsvp, above, cursor + 1)
    payload = pull(door, cursor)
    assert ticket_ids(payload) == {above} and payload["cursor"] == cursor + 1


def test_the_cursor_never_moves_back(door):
    quick_rsvp(door.rally)
    cursor = pull(door)["cursor"]
    later = pull(door, cursor + 5)
    assert later["cursor"] == cursor + 5 and later["full"] is False


def test_every_kind_of_change_moves_the_cursor(door):
    first, _ = quick_rsvp(door.rally, guests=1)
    second, _ = quick_rsvp(door.rally)
    cursor = pull(door)["cursor"]
    create_or_update_rsvp(door.rally, RsvpInput(name="Bo", email="bo@example.org"))
    after_rsvp = pull(door, cursor)
    assert after_rsvp["cursor"] > cursor
    cancel_rsvp(db.session.get(Rsvp, first), notify=False)
    after_cancel = pull(door, after_rsvp["cursor"])
    assert after_cancel["cursor"] > after_rsvp["cursor"] and first in after_cancel["revoked"]
    code = make_ticket(door.rally)[1]
    mid = pull(door, after_cancel["cursor"])["cursor"]
    check_in(code, door.scanner, nonce=nonce())
    assert pull(door, mid)["cursor"] > mid
    assert second in ticket_ids(pull(door))


def test_a_sync_holds_only_its_own_rallys_data(door, make_rally):
    mine, code = make_ticket(door.rally)
    check_in(code, door.scanner, nonce=nonce())
    other_rally = make_rally(db.session.get(type(door.rally), door.rally.id).campaign, **{"starts_at": door.rally.starts_at})
    theirs, their_code = make_ticket(other_rally)
    other_ctx, _secret, _link = door_session(make_door(other_rally, "East"))
    check_in(their_code, other_ctx, nonce=nonce())
    payload = pull(door)
    assert ticket_ids(payload) == {mine.id}
    assert [c[1] for c in payload["checkins"]] == [mine.id]
    assert payload["rally"]["id"] == door.rally.id and payload["door_id"] == door.door.id
    assert set(payload["rally"]) == {"id", "title", "timezone", "status", "public_key", "safe_capacity",
                                      "reentry_allowed", "overflow_name", "overflow_capacity", "doors"}
    assert payload["rally"]["title"] == door.rally.title and payload["rally"]["status"] == "scheduled"
    assert payload["rally"]["timezone"] == "America/Chicago"


def test_check_ins_at_the_cursor_are_not_resent(door):
    ticket, code = make_ticket(door.rally)
    check_in(code, door.scanner, nonce=nonce())
    cursor = pull(door)["cursor"]
    checkin_id = db.session.scalar(sa.select(Checkin.id))
    renumber(Checkin, checkin_id, cursor)
    renumber(Rsvp, ticket.id, cursor)
    assert pull(door, cursor)["checkins"] == []
    renumber(Checkin, checkin_id, cursor + 1)
    assert [c[0] for c in pull(door, cursor)["checkins"]] == [checkin_id]
