"""Issue 12: a door link made days ahead still works at the door (by default it lasts the rally)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from rallies.door import doors
from rallies.door.doors import DOOR_WINDOW_MARGIN, DoorError
from rallies.extensions import db
from rallies.models import DoorLink, utcnow
from tests.factories import campaign_of, make_door


@pytest.fixture
def org(make_user, make_rally, client, login):
    user = make_user()
    starts = utcnow() + timedelta(days=3)
    rally = make_rally(campaign_of(user), starts_at=starts, ends_at=starts + timedelta(hours=4))
    login(client, user)
    return user, rally


def _stored_link() -> DoorLink:
    db.session.expire_all()
    return db.session.scalar(db.select(DoorLink).order_by(DoorLink.id.desc()).limit(1))


def test_a_link_made_days_ahead_lasts_until_the_rally_ends_plus_the_margin(org, client):
    _user, rally = org
    door = make_door(rally)
    resp = client.post(f"/door/rally/{rally.id}/links", data={"door_id": door.id, "role": "scanner"})
    assert resp.status_code == 201
    assert _stored_link().expires_at == rally.ends_at + DOOR_WINDOW_MARGIN


def test_hours_given_still_set_the_expiry(org, client):
    _user, rally = org
    door = make_door(rally)
    before = utcnow()
    resp = client.post(f"/door/rally/{rally.id}/links", data={"door_id": door.id, "role": "scanner", "valid_hours": 6})
    assert resp.status_code == 201
    expires = _stored_link().expires_at
    assert before + timedelta(hours=6) <= expires <= utcnow() + timedelta(hours=6)


def test_the_form_says_what_the_default_is(org, client):
    _user, rally = org
    make_door(rally)
    page = client.get(f"/door/rally/{rally.id}/").text
    assert re.search(r"until 2 hours after the rally ends", page)
    assert 'name="valid_hours" required' not in page


def test_a_link_for_a_rally_that_is_over_needs_hours(make_user, make_rally):
    over = utcnow() - timedelta(days=1)
    rally = make_rally(campaign_of(make_user()), starts_at=over - timedelta(hours=3), ends_at=over)
    door = make_door(rally)
    with pytest.raises(DoorError) as err:
        doors.create_link(door, "scanner")
    assert err.value.code == "invalid_expiry"
    link, _secret = doors.create_link(door, "scanner", utcnow() + timedelta(hours=2))
    assert link.id
