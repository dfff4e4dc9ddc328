"""The rally form's venue settings: safe capacity, re-entry policy and the overflow area (issue 14)."""

from __future__ import annotations

import pytest

from rallies.extensions import db
from rallies.models import Rally
from tests.factories import campaign_of


def form(**overrides) -> dict:
    """A valid rally form for Austin with the venue settings."""
    data = dict(
        title="Rally for Jobs", starts_local="2030-05-01T18:00", ends_local="2030-05-01T20:00",
        doors_local="2030-05-01T17:00", timezone="America/Chicago", venue_name="Republic Square",
        address="422 Guadalupe St", city="Austin", state="TX", postal_code="78701", country="US", capacity="500",
        max_guests="2", visibility="listed", safe_capacity="300", reentry_allowed="y", overflow_name="North lawn",
        overflow_capacity="100",
    )
    data.update(overrides)
    return data


@pytest.fixture
def organizer(client, make_user, login):
    user = make_user()
    login(client, user)
    return user


def _create(client, user, **overrides):
    return client.post(f"/organize/campaigns/{campaign_of(user).id}/rallies/new", data=form(**overrides))


def test_venue_settings_are_saved_and_prefilled(client, organizer):
    assert _create(client, organizer).status_code == 302
    rally = db.session.scalars(db.select(Rally)).one()
    assert (rally.safe_capacity, rally.reentry_allowed, rally.overflow_name, rally.overflow_capacity) == (
        300, True, "North lawn", 100)
    assert rally.capacity == 500  # the RSVP capacity is its own number
    page = client.get(f"/organize/rallies/{rally.id}/edit").text
    assert 'name="safe_capacity"' in page and 'value="300"' in page and 'value="North lawn"' in page
    resp = client.post(f"/organize/rallies/{rally.id}/edit", data=form(
        safe_capacity="", reentry_allowed="", overflow_name="", overflow_capacity=""))
    assert resp.status_code == 302
    db.session.expire_all()
    rally = db.session.get(Rally, rally.id)
    assert (rally.safe_capacity, rally.reentry_allowed, rally.overflow_name, rally.overflow_capacity) == (
        None, False, "", None)


@pytest.mark.parametrize("overrides, message", [
    ({"safe_capacity": "0"}, "Safe capacity must be at least 1"),
    ({"safe_capacity": "-3"}, "Safe capacity must be at least 1"),
    ({"safe_capacity": "9" * 30}, "Enter a smaller number."),
    ({"overflow_capacity": "0"}, "Overflow capacity must be at least 1"),
    ({"overflow_name": "", "overflow_capacity": "50"}, "Name the overflow area to give it a capacity."),
    ({"overflow_name": "  ", "overflow_capacity": "50"}, "Name the overflow area to give it a capacity."),
    ({"overflow_name": "x" * 81}, "Use at most 80 characters."),
])
def test_bad_venue_settings_are_refused_next_to_the_field(client, organizer, overrides, message):
    resp = _create(client, organizer, **overrides)
    assert resp.status_code == 422
    assert message in resp.text and 'aria-invalid="true"' in resp.text
    assert db.session.scalar(db.select(db.func.count(Rally.id))) == 0


def test_an_overflow_area_may_have_no_limit(client, organizer):
    assert _create(client, organizer, overflow_capacity="").status_code == 302
    rally = db.session.scalars(db.select(Rally)).one()
    assert (rally.overflow_name, rally.overflow_capacity) == ("North lawn", None)
