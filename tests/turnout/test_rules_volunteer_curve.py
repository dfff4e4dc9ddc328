"""Issue 14: the rally's arrival curve filtered by volunteer (the check-ins their own door link's devices made)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rallies.door.admissions import admit_walkin, undo_checkin
from rallies.door.checkin import check_in
from rallies.door.exits import check_out
from rallies.extensions import db
from rallies.models import Rally, utcnow
from rallies.rallies.counters import minute_of
from rallies.turnout import tallies
from rallies.turnout.by_volunteer import scanning_volunteers, volunteer_arrival_rows
from tests.factories import (
    XSS_NAME,
    at_door,
    campaign_of,
    live_rally,
    make_door,
    make_shift,
    make_ticket,
    make_user,
    nonce,
    volunteer,
    volunteer_device,
)


@pytest.fixture
def world(client, login):
    """A live rally, one door (North gate), two volunteers scanning there and the organizers' own scanner.

    Ana admits a party of 2 (offline, at t0) and registers a walk-in party of 3 (now); Bo (a hostile name)
    admits 1 at t0 + 1 minute and 1 more he then undoes, and lets Ana's party out and back in; the
    organizers' scanner admits 1 at t0. Cy opened her link but scanned nothing.
    """
    owner = make_user()
    door = at_door(campaign_of(owner), capacity=None, max_guests=10)
    rally = door.rally
    shift = make_shift(rally, door.door, starts_at=utcnow() - timedelta(minutes=10), hours=2, slots=3)
    ana, bo, cy = (volunteer(shift, name=n) for n in ("Ana Scanner", XSS_NAME, "Cy Idle"))
    ana_phone, bo_phone = volunteer_device(ana), volunteer_device(bo)
    volunteer_device(cy)
    t0 = minute_of(utcnow() - timedelta(minutes=3)) + timedelta(seconds=10)

    def admit(ctx, code, at=None):
        offline = {"client_time": at, "offline": True, "online": False} if at else {}
        verdict = check_in(code, ctx, nonce=nonce(), **offline)
        assert verdict.verdict == "admit" and not verdict.flags.get("clock")
        return verdict

    party = make_ticket(rally, name="Party Of Two", guests=1)[1]
    admit(ana_phone, party, t0)
    assert admit_walkin(ana_phone, name="Walk In", nonce=nonce(), guests=2).admitted == 3
    admit(bo_phone, make_ticket(rally, name="Bo One")[1], t0 + timedelta(minutes=1))
    undone = admit(bo_phone, make_ticket(rally, name="Bo Undone")[1])
    undo_checkin(door.supervisor, rsvp_id=undone.ticket["id"], reason="wrong person", nonce=nonce())
    assert check_out(party, bo_phone, nonce=nonce()).verdict == "exit"
    admit(bo_phone, party)  # back in: a re-entry, not an arrival
    admit(door.scanner, make_ticket(rally, name="Org Scan")[1], t0)
    login(client, owner)
    return rally, ana, bo, cy, minute_of(t0)


def _api(client, rally_id, signup_id):
    return client.get(f"/turnout/api/rallies/{rally_id}?volunteer={signup_id}")


def test_each_volunteers_curve_counts_only_their_own_admissions(world, client):
    rally, ana, bo, _cy, start = world
    ana_data, bo_data = _api(client, rally.id, ana.signup_id).get_json(), _api(client, rally.id, bo.signup_id).get_json()
    assert sum(ana_data["total"]) == 5 and sum(bo_data["total"]) == 1
    assert ana_data["volunteer"] == {"id": ana.signup_id, "name": "Ana Scanner"} and ana_data["occupancy"] is None
    [north] = ana_data["doors"]
    assert (north["name"], north["checked_in_people"], north["walkin_people"]) == ("North gate", 5, 3)
    [north] = bo_data["doors"]
    assert (north["checked_in_people"], north["walkin_people"]) == (1, 0)
    # By the minute people came in: the party at t0 (the device's time), Bo's one a minute later.
    assert ana_data["minutes"][0] == start.isoformat() and ana_data["total"][0] == 2
    assert bo_data["minutes"] == [(start + timedelta(minutes=1)).isoformat()] and bo_data["total"] == [1]
    # The whole rally's curve still counts everyone, the organizers' scanner too.
    whole = client.get(f"/turnout/api/rallies/{rally.id}").get_json()
    assert sum(whole["total"]) == 7 and whole["volunteer"] is None and whole["occupancy"] is not None


def test_the_sql_minutes_are_the_arrival_minutes(world):
    rally, ana, bo, _cy, _start = world
    from rallies.models import VolunteerSignup

    rows = {}
    for signup in (ana, bo):
        link_id = db.session.get(VolunteerSignup, signup.signup_id).link_id
        for door_id, minute, people, walkins in volunteer_arrival_rows(rally.id, link_id):
            got = rows.setdefault((door_id, minute), [0, 0])
            got[0], got[1] = got[0] + people, got[1] + walkins
    whole = {(d, m): [p, w] for d, m, p, w in tallies.arrival_rows(rally.id)}
    # Every volunteer minute is an ArrivalMinute key; with the organizers' scan at t0 the rest add up.
    assert set(rows) <= set(whole)
    assert sum(p for p, _w in rows.values()) == sum(p for p, _w in whole.values()) - 1
    assert sum(w for _p, w in rows.values()) == sum(w for _p, w in whole.values()) == 3


def test_the_page_filters_by_a_volunteer_chosen_by_name(world, client):
    rally, ana, bo, cy, _start = world
    page = client.get(f"/turnout/rallies/{rally.id}/").text
    assert 'name="volunteer"' in page and "Ana Scanner · North gate" in page
    assert f'value="{bo.signup_id}"' in page and f'value="{cy.signup_id}"' not in page  # Cy never scanned
    assert "volunteer=None" not in page
    resp = client.get(f"/turnout/rallies/{rally.id}/?volunteer={ana.signup_id}")
    assert resp.status_code == 200
    page = resp.text
    assert "Arrivals per minute admitted by Ana Scanner" in page
    assert f'value="{ana.signup_id}" selected' in page and f'data-volunteer="{ana.signup_id}"' in page
    assert f"/turnout/api/rallies/{rally.id}?volunteer={ana.signup_id}" in page
    assert '<td data-door-field="checked_in_people">5</td>' in page
    assert '<td data-door-field="walkin_people">3</td>' in page
    assert "not by volunteer" in page and 'id="occupancy-chart"' not in page
    # A volunteer of the rally who scanned nothing: an empty curve, not an error.
    page = client.get(f"/turnout/rallies/{rally.id}/?volunteer={cy.signup_id}").text
    assert "Arrivals per minute admitted by Cy Idle" in page and "No check-ins yet." in page


def test_hostile_volunteer_names_are_escaped(world, client):
    rally, _ana, bo, _cy, _start = world
    for url in (f"/turnout/rallies/{rally.id}/", f"/turnout/rallies/{rally.id}/?volunteer={bo.signup_id}"):
        page = client.get(url).text
        assert XSS_NAME not in page and "Zed &lt;img src=x onerror=alert(2)&gt; Quux" in page


def test_the_roster_links_each_scanning_volunteer_to_their_curve(world, client):
    rally, ana, _bo, _cy, _start = world
    page = client.get(f"/organize/rallies/{rally.id}/shifts/").text
    assert f"/turnout/rallies/{rally.id}/?volunteer={ana.signup_id}" in page


def test_another_campaigns_or_rallys_volunteer_is_not_found(world, client):
    rally, *_ = world
    elsewhere = live_rally(campaign_of(make_user()))
    foreign = volunteer(make_shift(elsewhere, make_door(elsewhere, "Side door"),
                                   starts_at=utcnow() - timedelta(minutes=10)), name="Foreign Volunteer")
    sibling = live_rally(rally.campaign)
    cousin = volunteer(make_shift(sibling, make_door(sibling, "Back door"),
                                  starts_at=utcnow() - timedelta(minutes=10)), name="Sibling Volunteer")
    for signup_id in (foreign.signup_id, cousin.signup_id, 2**31 - 1):
        assert client.get(f"/turnout/rallies/{rally.id}/?volunteer={signup_id}").status_code == 404
        resp = _api(client, rally.id, signup_id)
        assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    assert "Foreign Volunteer" not in client.get(f"/turnout/rallies/{rally.id}/").text


@pytest.mark.parametrize("bogus", ["abc", "-1", "0", "1e3", "1.5", "99999999999999999999", "٣", "1 OR 1=1"])
def test_a_bogus_volunteer_is_a_400_with_a_message(world, client, bogus):
    rally, *_ = world
    resp = client.get(f"/turnout/rallies/{rally.id}/", query_string={"volunteer": bogus})
    assert resp.status_code == 400 and "Choose a volunteer from the list." in resp.text
    assert 'aria-invalid="true"' in resp.text and "Arrivals per minute</h2>" in resp.text  # the whole curve
    resp = client.get(f"/turnout/api/rallies/{rally.id}", query_string={"volunteer": bogus})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_parameter"


def test_viewers_may_read_it_and_strangers_may_not(world, client, login):
    rally, ana, *_ = world
    login(client, make_user(campaign=db.session.get(Rally, rally.id).campaign, role="viewer"))
    assert client.get(f"/turnout/rallies/{rally.id}/?volunteer={ana.signup_id}").status_code == 200
    login(client, make_user())
    assert client.get(f"/turnout/rallies/{rally.id}/?volunteer={ana.signup_id}").status_code == 404
    assert _api(client, rally.id, ana.signup_id).status_code == 404


def test_scanning_volunteers_lists_by_name(world):
    rally, ana, bo, _cy, _start = world
    assert [v.signup_id for v in scanning_volunteers(rally.id)] == [ana.signup_id, bo.signup_id]
