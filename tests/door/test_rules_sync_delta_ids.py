"""Sync with ids=delta: each ticket's id is its difference from the one before, in id order (the scanner's form)."""

from __future__ import annotations

import pytest

from tests.factories import campaign_of, door_session, insert_rsvps, live_rally, make_door, make_ticket, quick_rsvp
from tests.web import bearer


@pytest.fixture
def door_setup(make_user):
    rally = live_rally(campaign_of(make_user()))
    door = make_door(rally)
    _ctx, secret, _link = door_session(door)
    return rally, door, secret


def _sync(client, door, secret, **query):
    resp = client.get(f"/door/{door.id}/api/sync", query_string=query, headers=bearer(secret))
    return resp.status_code, resp.get_json()


def test_delta_ids_add_up_to_the_plain_ids_in_order(client, door_setup, make_rally, make_user):
    rally, door, secret = door_setup
    insert_rsvps(make_rally(campaign_of(make_user())), 3)  # another rally's rows: gaps between this one's ids
    insert_rsvps(rally, 2)
    make_ticket(rally, status="cancelled")
    insert_rsvps(rally, 1)
    _, plain = _sync(client, door, secret)
    status, delta = _sync(client, door, secret, ids="delta")
    assert status == 200 and delta["ids"] == "delta" and "ids" not in plain
    ids = [t[0] for t in plain["tickets"]]
    assert ids == sorted(ids) and len(ids) == 4
    running, rebuilt = 0, []
    for ticket in delta["tickets"]:
        assert ticket[0] > 0
        running += ticket[0]
        rebuilt.append([running, *ticket[1:]])
    assert rebuilt == plain["tickets"]
    assert delta["revoked"] == plain["revoked"] and len(plain["revoked"]) == 1  # revoked: real ids, never deltas


def test_delta_ids_of_an_incremental_sync_count_from_zero(client, door_setup):
    rally, door, secret = door_setup
    quick_rsvp(rally)
    _, first = _sync(client, door, secret, ids="delta")
    later = [quick_rsvp(rally)[0], quick_rsvp(rally)[0]]
    _, inc = _sync(client, door, secret, since=first["cursor"], ids="delta")
    assert not inc["full"] and [t[0] for t in inc["tickets"]] == [later[0], later[1] - later[0]]


@pytest.mark.parametrize("value", ["DELTA", "1", "gzip", ""])
def test_an_unknown_ids_form_is_refused_plainly(client, door_setup, value):
    _rally, door, secret = door_setup
    status, body = _sync(client, door, secret, ids=value)
    assert status == 422 and body["error"]["code"] and "ids" in body["error"]["message"]
