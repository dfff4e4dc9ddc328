"""Issue 9, item 16: dates outside a sensible range are form errors (a 4xx with a message), never a 500."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from rallies.extensions import db
from rallies.models import Rally
from tests.factories import campaign_of
from tests.rallies.test_rallies import create, rally_form

LATEST = datetime.now(UTC).year + 10


@pytest.fixture
def organizer(client, make_user, login):
    user = make_user()
    login(client, user)
    return user


@pytest.mark.parametrize("overrides, field", [
    ({"starts_local": "9999-12-31T23:59", "ends_local": "9999-12-31T23:59", "doors_local": ""}, "starts_local"),
    ({"starts_local": "9999-12-31T22:00", "ends_local": "9999-12-31T23:59", "doors_local": ""}, "starts_local"),
    ({"starts_local": "0001-01-01T00:00", "ends_local": "0001-01-01T02:00", "doors_local": ""}, "starts_local"),
    ({"starts_local": "1999-12-31T18:00", "ends_local": "1999-12-31T20:00", "doors_local": ""}, "starts_local"),
    ({"ends_local": "9999-12-31T23:59"}, "ends_local"),
    ({"doors_local": "0001-01-01T00:00"}, "doors_local"),
    ({"starts_local": f"{LATEST + 1}-01-01T18:00", "ends_local": f"{LATEST + 1}-01-01T20:00", "doors_local": ""},
     "starts_local"),
])
def test_rally_times_out_of_range_are_field_errors(client, organizer, overrides, field):
    """Create and edit: the message sits next to the field, and nothing is saved or changed."""
    resp = create(client, organizer, **overrides)
    assert resp.status_code == 422, resp.status_code
    html = resp.get_data(as_text=True)
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
    assert error and f"between 2000 and {LATEST}" in error.group(1), html[:0]
    assert db.session.scalar(db.select(db.func.count(Rally.id))) == 0
    assert create(client, organizer).status_code == 302
    rally = db.session.scalars(db.select(Rally)).one()
    before = rally.starts_at
    resp = client.post(f"/organize/rallies/{rally.id}/edit", data=rally_form(**overrides))
    assert resp.status_code == 422 and f"between 2000 and {LATEST}" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Rally, rally.id).starts_at == before


def test_end_must_be_after_start(client, organizer):
    resp = create(client, organizer, starts_local="2030-05-01T18:00", ends_local="2030-05-01T18:00", doors_local="")
    assert resp.status_code == 422 and "The end must be after the start." in resp.get_data(as_text=True)


@pytest.mark.parametrize("query", [
    {"date_from": "9999-12-31", "date_to": "9999-12-31"},
    {"date_to": "9999-12-31"},
    {"date_from": "0001-01-01"},
    {"date_from": "0001-01-01", "date_to": "0001-01-02"},
])
def test_turnout_date_filters_out_of_range_are_400(client, make_user, login, query):
    """The turnout table, roll-ups, CSV exports and JSON API all refuse the range with a message."""
    user = make_user()
    login(client, user)
    campaign = campaign_of(user)
    base = f"/turnout/campaigns/{campaign.id}"
    for path in ("/", "/rollups", "/rallies.csv", "/rollups.csv"):
        resp = client.get(base + path, query_string=query)
        assert resp.status_code == 400, (path, resp.status_code)
        assert f"between 2000 and {LATEST}" in resp.get_data(as_text=True), path
    resp = client.get(f"/turnout/api/campaigns/{campaign.id}/rallies", query_string=query)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "invalid_filter"


@pytest.mark.parametrize("since", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+01:00", "1500-01-01T00:00:00Z"])
def test_turnout_live_since_out_of_range_is_400(client, make_user, make_rally, login, since):
    """The live dashboard's `since` is an ISO time in range, or a JSON 400 that says so."""
    user = make_user()
    login(client, user)
    rally = make_rally(campaign_of(user))
    resp = client.get(f"/turnout/api/rallies/{rally.id}/live", query_string={"since": since})
    assert resp.status_code == 400, resp.status_code
    error = resp.get_json()["error"]
    assert error["code"] == "invalid_parameter" and f"between 2000 and {LATEST}" in error["message"]
    assert client.get(f"/turnout/api/rallies/{rally.id}/live",
                      query_string={"since": "2026-05-01T18:00:00+00:00"}).status_code == 200
