"""Issue 14: `flask demo` gives the next upcoming rally volunteer shifts with some volunteers signed up."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from rallies.extensions import db
from rallies.models import DoorLink, Shift, VolunteerSignup


def test_demo_shifts_are_filled_in_part_and_idempotent(app, make_rally):
    from rallies.demo import accounts, volunteers
    from rallies.demo.accounts import demo_campaign

    list(accounts.load())
    campaign = demo_campaign()
    make_rally(campaign, starts_at=datetime.now(UTC) - timedelta(days=3), title="Past")
    upcoming = make_rally(campaign, starts_at=datetime.now(UTC) + timedelta(days=3), title="Next one")
    [line] = list(volunteers.load())
    assert "Next one" in line and "8 volunteers" in line
    shifts = db.session.scalars(sa.select(Shift).order_by(Shift.id)).all()
    assert {s.rally_id for s in shifts} == {upcoming.id} and len(shifts) == 5
    assert [s.filled for s in shifts] == [3, 1, 1, 3, 0] and any(s.filled < s.slots for s in shifts)
    assert all(s.starts_at > upcoming.doors_open_at - timedelta(minutes=1) for s in shifts)  # to the minute
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VolunteerSignup)) == 8
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DoorLink)) == 8
    assert list(volunteers.load()) == []  # idempotent
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Shift)) == 5
