"""The demo RSVP loader: deterministic, idempotent, counters consistent, ZIPs near the venue."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from rallies.demo import accounts, rsvps
from rallies.extensions import db
from rallies.models import Rsvp, Supporter
from tests.stored import counts_from_rows, stored_counts

pytestmark = pytest.mark.slow


def test_demo_rsvps_are_consistent_and_idempotent(app, make_rally):
    list(accounts.load())
    campaign = accounts.demo_campaign()
    big = make_rally(campaign, capacity=800, max_guests=3)        # Chicago (the fixture's venue)
    open_ = make_rally(campaign, capacity=None, max_guests=2, country="CA", lat=43.65, lon=-79.38)
    lines = list(rsvps.load())
    assert lines[-1].startswith("RSVPs:") and "created" in lines[-1]
    first = db.session.execute(sa.select(Rsvp.rally_id, Rsvp.email, Rsvp.status, Rsvp.postal_code)
                               .order_by(Rsvp.rally_id, Rsvp.changed_seq)).all()
    assert len(first) > 400
    for rally in (big, open_):
        assert stored_counts(rally.id) == counts_from_rows(rally.id)
    counts = stored_counts(big.id)
    assert 0 < counts["going_people"] <= 800
    zips = {z for rid, _, _, z in first if rid == big.id and z}
    assert zips and all(z[:2] in ("60", "46") for z in zips)  # Chicago area (and NW Indiana) ZIP codes
    assert not any(z for rid, _, _, z in first if rid == open_.id)  # no US ZIPs outside the US
    people = db.session.scalar(sa.select(sa.func.count()).select_from(Supporter))
    assert list(rsvps.load())[-1] == "RSVPs: 0 created."
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rsvp)) == len(first)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Supporter)) == people
