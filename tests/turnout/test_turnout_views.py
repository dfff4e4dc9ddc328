"""Turnout pages and JSON through the client: access control, bad filters, escaping, the live refresh."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import PAST, arrival_minutes, campaign_of, held_rally, make_door

HOSTILE = '<script>alert("x")</script> & =HYPERLINK("http://evil")'


@pytest.fixture
def setup(make_user, make_rally, login, client):
    """An organizer's campaign with a past and an upcoming rally, a viewer in it, and a stranger's campaign."""
    owner = make_user()
    camp = campaign_of(owner)
    viewer = make_user(campaign=camp, role="viewer")
    past = held_rally(camp, going=40, rsvp_in=30, walkins=6, capacity=50, title=HOSTILE, city="Chicago",
                state="IL")
    door = make_door(past, "North", lanes=1)
    arrival_minutes(past, door, PAST, {0: 4, 1: 14})
    upcoming = make_rally(camp, title="Next one", city="Chicago", state="IL")
    stranger = make_user()
    theirs = held_rally(campaign_of(stranger), going=10, rsvp_in=5, title="Secret stranger rally")
    login(client, viewer)
    return dict(camp=camp, past=past, upcoming=upcoming, theirs=theirs, stranger=stranger, owner=owner)


def test_viewer_reads_every_page(client, setup):
    camp, past = setup["camp"], setup["past"]
    for url in (f"/turnout/campaigns/{camp.id}/", f"/turnout/campaigns/{camp.id}/rollups",
                f"/turnout/campaigns/{camp.id}/rollups?level=state", f"/turnout/campaigns/{camp.id}/forecasts",
                f"/turnout/campaigns/{camp.id}/map", f"/turnout/rallies/{past.id}/",
                f"/turnout/rallies/{setup['upcoming'].id}/"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert b"Secret stranger rally" not in resp.data, url
    assert client.get("/turnout/").status_code == 302  # one campaign: straight to it


def test_comparison_table_shows_rates_and_escapes_titles(client, setup):
    html = client.get(f"/turnout/campaigns/{setup['camp'].id}/").get_data(as_text=True)
    assert "&lt;script&gt;alert(" in html and '<script>alert("x")' not in html
    assert "75%" in html and "72%" in html  # show-up 30/40, fill 36/50


def test_dashboard_shows_tallies_peaks_and_forecast(client, setup):
    html = client.get(f"/turnout/rallies/{setup['past'].id}/").get_data(as_text=True)
    assert "&lt;script&gt;alert(" in html and '<script>alert("x")' not in html
    assert 'data-tally="show_up_rate" data-format="pct">75%' in html
    assert "over by 3" in html  # 14 a minute through one 11-a-minute lane
    upcoming = client.get(f"/turnout/rallies/{setup['upcoming'].id}/").get_data(as_text=True)
    assert "expected" in upcoming and "lane" in upcoming


def test_other_campaign_is_404_everywhere(client, setup):
    theirs = setup["theirs"]
    other_camp = theirs.campaign_id
    for url in (f"/turnout/campaigns/{other_camp}/", f"/turnout/campaigns/{other_camp}/rollups",
                f"/turnout/campaigns/{other_camp}/forecasts", f"/turnout/campaigns/{other_camp}/map",
                f"/turnout/campaigns/{other_camp}/rallies.csv", f"/turnout/campaigns/{other_camp}/rollups.csv",
                f"/turnout/rallies/{theirs.id}/", f"/turnout/rallies/{theirs.id}/checkins.csv",
                f"/turnout/api/campaigns/{other_camp}/rallies", f"/turnout/api/rallies/{theirs.id}/live",
                f"/turnout/api/rallies/{theirs.id}", f"/turnout/api/rallies/{theirs.id}/checkins"):
        resp = client.get(url)
        assert resp.status_code == 404, url
        assert b"Secret stranger rally" not in resp.data
    assert client.get(f"/turnout/api/rallies/{theirs.id}/live").get_json()["error"]["code"] == "not_found"


def test_anonymous_is_sent_to_login_or_gets_401(app, setup):
    anon = app.test_client()
    resp = anon.get(f"/turnout/campaigns/{setup['camp'].id}/")
    assert resp.status_code == 302 and "login" in resp.headers["Location"]
    api = anon.get(f"/turnout/api/rallies/{setup['past'].id}/live")
    assert api.status_code == 401 and api.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("query, message", [
    ("state=ZZ", "Unknown state"),
    ("date_from=2026-05-01&date_to=2026-04-01", "end date is before the start date"),
    ("page=100000000000000000000000000", "Page must be a whole number"),
    ("page=abc", "Not a valid integer"),
    ("date_from=2026-13-45", "Not a valid date"),
    ("status=everything", "Not a valid choice"),
    ("sort=password", "Not a valid choice"),
    ("city=Chi%01cago", "cannot be part of a name"),
    ("state=I%01L", "cannot be part of a name"),
])
def test_bad_filters_get_clear_messages(client, setup, query, message):
    camp = setup["camp"]
    page = client.get(f"/turnout/campaigns/{camp.id}/?{query}")
    assert page.status_code == 400 and message in page.get_data(as_text=True)
    api = client.get(f"/turnout/api/campaigns/{camp.id}/rallies?{query}")
    assert api.status_code == 400 and message in api.get_json()["error"]["message"]
    assert client.get(f"/turnout/campaigns/{camp.id}/rallies.csv?{query}").status_code == 400


def test_page_past_the_end_shows_the_last_page_with_a_note(client, setup):
    resp = client.get(f"/turnout/campaigns/{setup['camp'].id}/?page=999")
    assert resp.status_code == 200
    assert "only 1 page of results" in resp.get_data(as_text=True)


def test_rollups_bad_level_and_state_filter(client, setup):
    camp = setup["camp"]
    assert client.get(f"/turnout/campaigns/{camp.id}/rollups?level=galaxy").status_code == 400
    data = client.get(f"/turnout/api/campaigns/{camp.id}/rollups?level=state").get_json()
    (il,) = data["rollups"]
    assert (il["state"], il["turnout"], il["avg_show_up_rate"]) == ("IL", 36, 0.75)


def test_live_refresh_returns_counters_and_new_minutes(client, setup):
    past = setup["past"]
    data = client.get(f"/turnout/api/rallies/{past.id}/live").get_json()
    assert data["tally"]["checked_in_people"] == 36 and data["tally"]["show_up_rate"] == 0.75
    assert [a["people"] for a in data["arrivals"]] == [4, 14]
    assert data["doors"][0]["checked_in_people"] == 4 + 14  # the sum of its arrival minutes
    since = (PAST + timedelta(minutes=1)).isoformat()
    newer = client.get(f"/turnout/api/rallies/{past.id}/live", query_string={"since": since}).get_json()
    assert [a["people"] for a in newer["arrivals"]] == [14]
    bad = client.get(f"/turnout/api/rallies/{past.id}/live?since=yesterday")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_parameter"


def test_rally_json_has_the_curve(client, setup):
    data = client.get(f"/turnout/api/rallies/{setup['past'].id}").get_json()
    assert data["total"] == [4, 14] and data["peak"] == 14 and data["doors"][0]["counts"] == [4, 14]
    assert data["rally"]["title"] == HOSTILE  # JSON carries the raw text; escaping is the renderer's job


def test_forecasts_json(client, setup):
    data = client.get(f"/turnout/api/campaigns/{setup['camp'].id}/forecasts").get_json()
    (item,) = data["forecasts"]
    assert item["rally_id"] == setup["upcoming"].id and item["basis"] == "campaign"


def test_turnout_pages_are_read_only(client, setup):
    """Nothing here writes, so there is no form to forge: POSTs are refused."""
    assert client.post(f"/turnout/campaigns/{setup['camp'].id}/").status_code == 405
