"""The door sync cursor: an incremental sync never misses a change, even one that committed late.

services/sync.py: change numbers are taken before commit, so a change may commit after a sync
whose cursor is already past its number. The server answers ``since`` with everything changed
after ``since - OVERLAP`` (time-based cursors only), and the device applies rows by id. These
tests make that late commit happen deterministically, by giving a row a number below the cursor.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import campaign_of
from doorkit import make_ticket
from rulekit import at_door, nonce, rsvp

from rallies.database import atomic
from rallies.extensions import db
from rallies.models import Checkin, Rsvp
from rallies.services import sync
from rallies.services.checkin import check_in
from rallies.services.rsvps import RsvpInput, cancel_rsvp, create_or_update_rsvp
from rallies.services.sync import next_seq, sync_payload


@pytest.fixture
def door(make_user, make_rally):
    return at_door(make_rally, campaign_of(make_user()), capacity=3, max_guests=3)


def pull(door, since=0) -> dict:
    db.session.expire_all()
    return sync_payload(door.rally.id, door.door.id, since)


def ticket_ids(payload) -> set[int]:
    return {t[0] for t in payload["tickets"]}


def renumber(model, row_id: int, seq: int) -> None:
    """Give a row the change number it would have had if taken before a sync and committed after it."""
    with atomic():
        db.session.execute(sa.update(model).where(model.id == row_id).values(changed_seq=seq))


def test_full_sync_lists_every_ticket_but_unconfirmed(door):
    going, _ = rsvp(door.rally, guests=1)
    going2, _ = rsvp(door.rally)
    waiting, _ = rsvp(door.rally)
    gone, _ = rsvp(door.rally)
    cancel_rsvp(db.session.get(Rsvp, gone), notify=False)
    hidden, _ = make_ticket(door.rally, status="unconfirmed")
    payload = pull(door)
    assert payload["full"] is True
    rows = {t[0]: t[2:] for t in payload["tickets"]}
    assert rows == {going: [2, "g", 0], going2: [1, "g", 0], waiting: [1, "w", 0], gone: [1, "c", 0]}
    assert payload["revoked"] == [gone]
    assert hidden.id not in rows
    assert payload["cursor"] == max(r.changed_seq for r in db.session.scalars(sa.select(Rsvp)))


def test_a_change_committed_after_the_sync_with_a_lower_number_reaches_the_next_sync(door):
    late_seq = next_seq()  # taken by a transaction that commits only after the sync below
    early, _ = rsvp(door.rally)
    first = pull(door)
    assert first["cursor"] > late_seq
    late, _ = rsvp(door.rally)
    renumber(Rsvp, late, late_seq)
    assert late in ticket_ids(pull(door, first["cursor"]))


def test_a_check_in_committed_late_reaches_the_next_sync(door):
    ticket, code = make_ticket(door.rally)
    late_seq = next_seq()
    rsvp(door.rally)
    first = pull(door)
    assert check_in(code, door.scanner, nonce=nonce()).admitted == 1
    checkin_id = db.session.scalar(sa.select(Checkin.id).where(Checkin.rsvp_id == ticket.id))
    renumber(Checkin, checkin_id, late_seq)
    renumber(Rsvp, ticket.id, late_seq)
    second = pull(door, first["cursor"])
    assert [c[0:3] for c in second["checkins"]] == [[checkin_id, ticket.id, 1]]
    assert [t[4] for t in second["tickets"] if t[0] == ticket.id] == [1]


def test_the_overlap_is_bounded(door):
    rsvp(door.rally)
    cursor = pull(door)["cursor"]
    inside, _ = rsvp(door.rally)
    outside, _ = rsvp(door.rally)
    renumber(Rsvp, inside, cursor - sync.OVERLAP + 1)
    renumber(Rsvp, outside, cursor - sync.OVERLAP)
    ids = ticket_ids(pull(door, cursor))
    assert inside in ids and outside not in ids


def test_the_cursor_never_moves_back(door):
    rsvp(door.rally)
    cursor = pull(door)["cursor"]
    later = pull(door, cursor + 5)
    assert later["cursor"] == cursor + 5 and later["full"] is False


def test_counter_cursors_get_no_overlap(door):
    """Small change numbers (demo data, older rows) are plain counters: exactly the rows after `since`."""
    ids = [rsvp(door.rally)[0] for _ in range(3)]
    for n, rsvp_id in enumerate(ids, start=1):
        renumber(Rsvp, rsvp_id, n)
    payload = pull(door, 2)
    assert ticket_ids(payload) == {ids[2]} and payload["cursor"] == 3
    assert ticket_ids(pull(door, 3)) == set()


def test_every_kind_of_change_moves_the_cursor(door):
    first, _ = rsvp(door.rally, guests=1)
    second, _ = rsvp(door.rally)
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
    from doorkit import door_session, make_door

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
    assert set(payload["rally"]) == {"id", "title", "timezone", "status", "public_key"}
    assert payload["rally"]["title"] == door.rally.title and payload["rally"]["status"] == "scheduled"
    assert payload["rally"]["timezone"] == "America/Chicago"


def test_check_ins_on_the_overlap_floor_are_not_resent(door):
    ticket, code = make_ticket(door.rally)
    check_in(code, door.scanner, nonce=nonce())
    cursor = pull(door)["cursor"]
    checkin_id = db.session.scalar(sa.select(Checkin.id))
    renumber(Checkin, checkin_id, cursor - sync.OVERLAP)
    renumber(Rsvp, ticket.id, cursor - sync.OVERLAP)
    assert pull(door, cursor)["checkins"] == []
    renumber(Checkin, checkin_id, cursor - sync.OVERLAP + 1)
    assert [c[0] for c in pull(door, cursor)["checkins"]] == [checkin_id]


def test_cursor_one_and_the_time_based_threshold(door):
    rsvp_id, _ = rsvp(door.rally)
    renumber(Rsvp, rsvp_id, 1)
    assert pull(door, 1)["full"] is False and ticket_ids(pull(door, 1)) == set()
    renumber(Rsvp, rsvp_id, sync.TIME_BASED - 1)
    assert rsvp_id in ticket_ids(pull(door, sync.TIME_BASED))  # a time-based cursor gets the overlap


def test_a_check_in_at_a_deleted_door_names_no_door(door):
    ticket, code = make_ticket(door.rally)
    check_in(code, door.scanner, nonce=nonce())
    with atomic():
        db.session.execute(sa.update(Checkin).values(door_id=None))
    [entry] = pull(door)["checkins"]
    assert entry[1:3] == [ticket.id, 1] and entry[4] == "" and entry[5] == "Phone 1" and entry[6] == 0
