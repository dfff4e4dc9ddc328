"""What a walk-in writes and where its limits fall (door/admissions.py admit_walkin, _device_walkins),
and a new door's totals (counters.door_totals)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from rallies.door.admissions import WALKINS_PER_DEVICE, admit_walkin
from rallies.door.checkin import check_in
from rallies.door.verdicts import CheckinInputError
from rallies.extensions import db
from rallies.models import Checkin, Rsvp, ScanLog, utcnow
from tests.factories import at_door, campaign_of, make_door, make_ticket, nonce
from tests.stored import door_totals, stored_rally


@pytest.fixture
def door(make_user):
    return at_door(campaign_of(make_user()), capacity=None, max_guests=3)


def last_scan() -> ScanLog:
    return db.session.scalars(sa.select(ScanLog).order_by(ScanLog.id.desc()).limit(1)).one()


def test_an_uploaded_walkin_is_dated_when_received_and_admitted_when_scanned(door):
    scanned = utcnow() - timedelta(minutes=3)
    admitted = admit_walkin(door.scanner, name="Wally Walker", nonce=nonce(), guests=1, client_time=scanned,
                            offline=True, online=False)
    assert (admitted.verdict, admitted.admitted) == ("admit", 2)
    scan = last_scan()
    rsvp = db.session.get(Rsvp, scan.rsvp_id)
    assert rsvp.status_at == rsvp.created_at == scan.received_at <= rsvp.updated_at
    assert (scan.client_time, scan.code, scan.offline) == (scanned, "", True)
    row = db.session.scalars(sa.select(Checkin).where(Checkin.rsvp_id == rsvp.id)).one()
    assert (row.admitted_at, row.is_walkin, row.people) == (scanned, True, 2)


def test_a_device_admits_exactly_its_walkin_allowance(door):
    groups, rest = divmod(WALKINS_PER_DEVICE, 10)
    for i in range(groups):
        admit_walkin(door.scanner, name=f"Group {i}", nonce=nonce(), guests=9)
    if rest:
        admit_walkin(door.scanner, name="Last group", nonce=nonce(), guests=rest - 1)
    assert stored_rally(door.rally.id).walkin_people == WALKINS_PER_DEVICE
    with pytest.raises(CheckinInputError) as refused:
        admit_walkin(door.scanner, name="One more", nonce=nonce())
    assert refused.value.code == "device_walkin_limit"
    assert admit_walkin(door.supervisor, name="One more", nonce=nonce()).verdict == "admit"  # another device may


def test_an_uploaded_walkin_at_a_full_venue_is_counted(make_user):
    door = at_door(campaign_of(make_user()), capacity=None, safe_capacity=1)
    _a, code = make_ticket(door.rally)
    check_in(code, door.scanner, nonce=nonce())
    uploaded = admit_walkin(door.scanner, name="Wally Walker", nonce=nonce(), offline=True, online=False,
                            client_time=utcnow() - timedelta(minutes=2))
    assert (uploaded.verdict, uploaded.admitted) == ("admit", 1)  # the device already let them in
    assert stored_rally(door.rally.id).inside_people == 2


def test_a_walkin_held_at_a_full_venue_leaves_only_the_hold(make_user):
    door = at_door(campaign_of(make_user()), capacity=None, safe_capacity=1)
    _a, code = make_ticket(door.rally)
    check_in(code, door.scanner, nonce=nonce())
    held = admit_walkin(door.scanner, name="Wally Walker", nonce=nonce())
    assert (held.verdict, held.reason) == ("venue_full", "venue_full")
    assert held.flags == {"clock": False, "offline": False, "forced": False, "conflict": False}
    assert (held.extra["inside"]["rally"], held.extra["inside"]["door"]) == (1, 1)  # this door's count too
    assert (last_scan().verdict, last_scan().rsvp_id) == ("venue_full", None)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rsvp).where(Rsvp.is_walkin)) == 0


def test_a_new_door_totals_zero(door):
    south = make_door(door.rally, "South gate")
    totals = door_totals(south)
    assert (totals.checked_in_people, totals.walkin_people, totals.inside_people) == (0, 0, 0)
