"""CSV exports (formula-injection safe) and the JSON check-in log."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from tests.factories import PAST, campaign_of, checkin_row, held_rally, make_door, make_ticket

HOSTILE = '=HYPERLINK("http://evil","click") <b>'


@pytest.fixture
def setup(make_user, login, client):
    owner = make_user()
    camp = campaign_of(owner)
    rally = held_rally(camp, going=4, rsvp_in=3, walkins=1, capacity=10, title=HOSTILE, city="Chicago",
                 state="IL")
    held_rally(camp, going=10, rsvp_in=9, title="Austin night", city="Austin", state="TX")
    door = make_door(rally, "-North gate", lanes=1)
    ana, _code = make_ticket(rally, "Ana Smith", postal_code="60607", guests=2, checked_in_people=3, email="ana@example.org")
    checkin_row(rally, door, ana, 2, PAST)
    checkin_row(rally, door, ana, 1, PAST + timedelta(minutes=3))
    checkin_row(rally, None, None, 1, PAST + timedelta(minutes=5), walkin=True)
    held_rally(campaign_of(make_user()), going=1, rsvp_in=1, title="Other campaign rally")
    login(client, owner)
    return dict(camp=camp, rally=rally)


def _rows(resp):
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))


def test_comparison_csv_is_formula_safe_and_filtered(client, setup):
    camp = setup["camp"]
    rows = _rows(client.get(f"/turnout/campaigns/{camp.id}/rallies.csv?sort=title&dir=asc"))
    assert [r["title"] for r in rows] == ["'" + HOSTILE, "Austin night"]  # the formula is neutralised
    first = rows[0]
    assert (first["going_people"], first["checked_in_people"], first["show_up_rate"], first["capacity_fill"]) == (
        "4", "4", "0.75", "0.4")
    assert "Other campaign rally" not in str(rows)
    only_tx = _rows(client.get(f"/turnout/campaigns/{camp.id}/rallies.csv?state=TX"))
    assert [r["title"] for r in only_tx] == ["Austin night"]


def test_rollups_csv(client, setup):
    rows = _rows(client.get(f"/turnout/campaigns/{setup['camp'].id}/rollups.csv?level=state"))
    by_state = {r["state"]: r for r in rows}
    assert by_state["IL"]["turnout"] == "4" and by_state["TX"]["turnout"] == "9"
    assert by_state["TX"]["population"] == "29145505"


def test_checkin_log_csv(client, setup):
    rows = _rows(client.get(f"/turnout/rallies/{setup['rally'].id}/checkins.csv"))
    assert [r["people"] for r in rows] == ["2", "1", "1"]
    assert rows[0]["door"] == "'-North gate"  # a leading minus is a formula trigger too
    assert rows[0]["name"] == "Ana S." and rows[2]["walk_in"] == "yes" and rows[2]["door"] == ""
    assert rows[0]["admitted_at_local"] == "2026-03-01 12:00:00"  # America/Chicago, UTC-6 in March
    assert "ana@example.org" not in str(rows)


def test_checkin_log_json_pages(client, setup):
    url = f"/turnout/api/rallies/{setup['rally'].id}/checkins"
    first = client.get(url, query_string={"limit": 2}).get_json()
    assert [c["people"] for c in first["checkins"]] == [2, 1] and first["next_after"]
    rest = client.get(url, query_string={"after": first["next_after"], "limit": 2}).get_json()
    assert [c["walk_in"] for c in rest["checkins"]] == [True] and rest["next_after"] is None
    assert client.get(url, query_string={"limit": 0}).status_code == 400
    assert client.get(url, query_string={"after": "x"}).get_json()["error"]["code"] == "invalid_parameter"


def test_comparison_json_matches_csv(client, setup):
    data = client.get(f"/turnout/api/campaigns/{setup['camp'].id}/rallies?sort=title&dir=asc").get_json()
    assert data["total"] == 2 and data["rallies"][0]["title"] == HOSTILE and data["rallies"][0]["show_up_rate"] == 0.75
