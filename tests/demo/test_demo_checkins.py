"""Demo check-ins: past rallies get consistent arrivals through several doors; upcoming ones a door link."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from rallies.extensions import db
from rallies.models import ArrivalMinute, Checkin, Door, Rally, Rsvp
from rallies.rallies import counters
from tests.factories import bulk_tickets

pytestmark = pytest.mark.slow


def test_demo_checkins_are_consistent_and_idempotent(app, make_rally):
    from rallies.demo import accounts, checkins
    from rallies.demo.accounts import demo_campaign

    list(accounts.load())
    campaign = demo_campaign()
    past = make_rally(campaign, starts_at=datetime.now(UTC) - timedelta(days=3))
    make_rally(campaign, starts_at=datetime.now(UTC) + timedelta(days=3), title="Next one")
    bulk_tickets(past, 400)
    lines = list(checkins.load())
    assert any("Door link for “Next one”" in line and "/door/l/" in line for line in lines)
    db.session.rollback()
    rally = db.session.get(Rally, past.id)
    arrivals = sa.and_(Checkin.rally_id == past.id, Checkin.direction == "entry", Checkin.reentry.is_(False))
    admitted = db.session.scalar(sa.select(sa.func.sum(Checkin.people)).where(arrivals))
    assert 200 < rally.checked_in_people == admitted
    assert rally.checked_in_people == rally.checked_in_rsvp_people + rally.walkin_people
    assert db.session.scalar(sa.select(sa.func.sum(ArrivalMinute.people)).where(ArrivalMinute.rally_id == past.id)) == admitted
    assert sum(d.checked_in_people for d in counters.door_totals(past.id)) == admitted
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Door).where(Door.rally_id == past.id)) >= 2
    in_rsvps = db.session.scalar(sa.select(sa.func.sum(Rsvp.checked_in_people)).where(Rsvp.rally_id == past.id))
    assert in_rsvps == admitted
    assert 0 < rally.peak_rate_per_min < admitted
    # People leave: the occupancy curve rises and falls, and inside now agrees with the rows and the tickets.
    outside = db.session.scalar(sa.select(sa.func.sum(Rsvp.outside_people)).where(Rsvp.rally_id == past.id))
    assert 0 <= rally.inside_people == admitted - outside < admitted * 0.4
    from rallies.turnout import tallies
    from tests.stored import inside_from_rows

    assert inside_from_rows(past.id) == rally.inside_people
    curve = tallies.occupancy(rally, tallies.arrival_curve(rally).minutes)
    assert curve.peak > admitted * 0.6 and curve.venue[-1] == rally.inside_people
    list(checkins.load())  # idempotent
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.sum(Checkin.people)).where(arrivals)) == admitted
