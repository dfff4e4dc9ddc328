"""The repair tools: recount and recount_checkins rebuild a rally's counters from its rows alone,
and touch no other rally."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from rallies.database import atomic
from rallies.extensions import db
from rallies.models import ArrivalMinute, Checkin, utcnow
from rallies.rallies.counters import door_totals, recount, recount_checkins
from tests.factories import PAST, arrival_minutes, checkin_row, insert_rsvps, make_door, make_ticket
from tests.stored import counts_from_rows, stored_counts, stored_rally

ZERO = {"going_people": 0, "going_parties": 0, "guests_count": 0, "waitlisted_people": 0,
        "waitlisted_parties": 0, "cancelled_parties": 0}


def repaired(fn, rally_id: int) -> None:
    with atomic():
        fn(rally_id)


def test_recount_sums_each_status_of_this_rally_only(make_rally, campaign):
    other = make_rally(campaign)
    insert_rsvps(other, [{"guests": 2}, {"status": "waitlisted"}])
    rally = make_rally(campaign)
    insert_rsvps(rally, [{"guests": 0}, {"guests": 2}, {"status": "waitlisted", "guests": 1},
                         {"status": "cancelled", "guests": 3}, {"status": "cancelled"}])
    repaired(recount, rally.id)
    assert stored_counts(rally.id) == counts_from_rows(rally.id) == {
        "going_people": 4, "going_parties": 2, "guests_count": 2, "waitlisted_people": 2,
        "waitlisted_parties": 1, "cancelled_parties": 2}
    assert stored_counts(other.id) == ZERO


def test_recount_of_a_rally_without_rsvps_sets_every_counter_to_zero(make_rally, campaign):
    rally = make_rally(campaign, going_people=7, going_parties=3, guests_count=4, waitlisted_people=2,
                       waitlisted_parties=1, cancelled_parties=5)
    repaired(recount, rally.id)
    assert stored_counts(rally.id) == ZERO


def minutes(rally_id: int) -> list[tuple]:
    """(door id, minute, people, walk-ins) of the rally's arrival minutes, by minute, no door first."""
    db.session.expire_all()
    rows = db.session.scalars(sa.select(ArrivalMinute).where(ArrivalMinute.rally_id == rally_id))
    return sorted(((m.door_id, m.minute, m.people, m.walkins) for m in rows), key=lambda m: (m[1], m[0] or 0))


def test_recount_checkins_rebuilds_minutes_doors_and_totals_from_live_checkins(make_rally, campaign):
    other = make_rally(campaign, starts_at=PAST)
    other_door = make_door(other, "Side")
    checkin_row(other, other_door, None, 4, PAST)
    repaired(recount_checkins, other.id)
    rally = make_rally(campaign, starts_at=PAST, checked_in_people=99, walkin_people=9, peak_rate_per_min=50)
    north, south = make_door(rally, "North"), make_door(rally, "South")
    ticket, _code = make_ticket(rally)
    at = PAST + timedelta(seconds=10)
    checkin_row(rally, north, ticket, 2, at)
    checkin_row(rally, north, None, 1, at + timedelta(seconds=5), walkin=True)
    checkin_row(rally, north, None, 2, at + timedelta(seconds=20), walkin=True)
    checkin_row(rally, south, ticket, 3, at)
    checkin_row(rally, None, ticket, 1, at)
    checkin_row(rally, south, ticket, 1, at + timedelta(minutes=1))
    arrival_minutes(rally, north, PAST, {30: 7})  # stale: no check-in behind it
    undone = checkin_row(rally, south, ticket, 5, at)
    with atomic():
        db.session.execute(sa.update(Checkin).where(Checkin.id == undone.id).values(undone_at=utcnow()))
    repaired(recount_checkins, rally.id)
    minute = PAST.replace(second=0)
    assert minutes(rally.id) == sorted([
        (None, minute, 1, 0), (north.id, minute, 5, 3), (south.id, minute, 3, 0),
        (south.id, minute + timedelta(minutes=1), 1, 0)], key=lambda m: (m[1], m[0] or 0))
    now = stored_rally(rally.id)
    assert (now.checked_in_people, now.checked_in_rsvp_people, now.walkin_people, now.peak_rate_per_min) == (
        10, 7, 3, 9)
    # Door totals are sums of the rebuilt minutes (the stale minute is gone).
    doors = {d.id: (d.checked_in_people, d.walkin_people) for d in door_totals(rally.id)}
    assert doors == {north.id: (5, 3), south.id: (4, 0)}
    assert minutes(other.id) == [(other_door.id, PAST.replace(second=0), 4, 0)]
    assert stored_rally(other.id).checked_in_people == 4


def test_recount_checkins_of_a_rally_without_checkins_is_all_zero(make_rally, campaign):
    rally = make_rally(campaign, checked_in_people=3, checked_in_rsvp_people=3, peak_rate_per_min=3)
    repaired(recount_checkins, rally.id)
    now = stored_rally(rally.id)
    assert (now.checked_in_people, now.checked_in_rsvp_people, now.walkin_people, now.peak_rate_per_min) == (0, 0, 0, 0)
    assert minutes(rally.id) == []
