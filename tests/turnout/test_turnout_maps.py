"""Turnout maps: origin privacy threshold, escaping in popups, vendored assets, one compact row per rally."""

from __future__ import annotations

import pytest

from rallies.extensions import db
from rallies.models import Rally
from rallies.turnout import maps
from tests.factories import campaign_of, held_rally, make_ticket

HOSTILE = '<img src=x onerror="alert(1)">`${x}`'


@pytest.fixture
def camp(make_user):
    return campaign_of(make_user())


def test_origin_points_never_show_fewer_than_five_people():
    points = maps.origin_points({"60607": 4, "60614": 5, "99999": 50, "00000": 9})
    # 60607 has 4 people: dropped. 99999 / 00000 are not ZIPs with a centroid: dropped.
    assert len(points) == 1
    lat, lon, people = points[0]
    assert people == 5 and 41.9 < lat < 42.0 and -87.7 < lon < -87.6


def test_rally_origins_aggregate_checked_in_people(camp):
    rally = held_rally(camp, going=20, rsvp_in=9)
    make_ticket(rally, "Ana Smith", postal_code="60607", guests=3, checked_in_people=4)  # 4 people: below the threshold
    make_ticket(rally, "Bo Jones", postal_code="60614-1234", guests=2, checked_in_people=3)
    make_ticket(rally, "Cy Lee", postal_code="60614", guests=1, checked_in_people=2)
    make_ticket(rally, "Di Park", postal_code="60614", guests=4, checked_in_people=0)  # did not come
    points = maps.rally_origins(db.session.get(Rally, rally.id))
    assert [p[2] for p in points] == [5]


def test_upcoming_rally_origins_use_people_going(camp, make_rally):
    rally = make_rally(camp)
    for name in ("Ana Smith", "Bo Jones"):
        make_ticket(rally, name, postal_code="60614", guests=2)  # 3 + 3 people going
    make_ticket(rally, "Cy Lee", postal_code="60614", guests=2, status="cancelled")
    assert [p[2] for p in maps.rally_origins(rally)] == [6]


def test_popup_row_escapes_every_string(camp):
    rally = held_rally(camp, going=10, rsvp_in=7, title=HOSTILE, city="<b>Chi</b>")
    row = maps.rally_row(db.session.get(Rally, rally.id), 7, 0.7, False)
    assert "<" not in row[6] and "`" not in row[6] and "$" not in row[6]
    assert row[7].startswith("&lt;b&gt;Chi") and row[5] == rally.id
    assert (row[9], row[12]) == (7, 70)  # people, show-up percent
    assert row[3] == maps.rate_colour(0.7) == "#5ec962"


def test_campaign_map_page(client, login, make_user, make_rally):
    owner = make_user()
    camp = campaign_of(owner)
    for i in range(12):
        held_rally(camp, going=100, rsvp_in=60 + i, title=f"{HOSTILE} {i}", lat=30 + i, lon=-100 + i)
    make_rally(camp, title="Future", lat=45.0, lon=-93.0)
    make_rally(camp, title="Nowhere yet", lat=None, lon=None)  # not geocoded: left off the map
    login(client, owner)
    resp = client.get(f"/turnout/campaigns/{camp.id}/map")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "12 past and 1 upcoming" in html and 'data-markers="13"' in html
    assert "<img src=x" not in html and "onerror=\"alert" not in html
    assert "L.markerClusterGroup" in html and "L.marker(" not in html  # clustered rows, not a Marker each
    assert "Past rallies (12)" in html and "Upcoming rallies (1)" in html and "Where people came from" in html
    nonce = resp.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in html
    assert "cdn" not in html.lower() and "/static/vendor/leaflet.markercluster/" in html
    assert '"/turnout/rallies/987654321/"' in html  # the dashboard link template the popups fill in


def test_rally_colours_and_sizes():
    assert maps.rate_colour(None) == maps.NO_RATE_COLOUR
    assert maps.rate_colour(0.1) == "#440154" and maps.rate_colour(1.2) == "#fde725"
    assert maps.radius_for(0) == 4 and maps.radius_for(100) == 6.5 and maps.radius_for(10**6) == 40


def test_template_syntax_in_titles_is_never_evaluated(client, login, make_user):
    """folium compiles rendered scripts and popups as Jinja templates; braces must arrive as text."""
    owner = make_user()
    camp = campaign_of(owner)
    sneaky = "{{ 'zq' ~ 'xw' }} {% set a = 'qq' %}{{ a ~ 'yes' }}"
    rally = held_rally(camp, going=10, rsvp_in=7, title=sneaky, venue_name=sneaky)
    login(client, owner)
    for url in (f"/turnout/campaigns/{camp.id}/map", f"/turnout/rallies/{rally.id}/"):
        html = client.get(url).get_data(as_text=True)
        assert "zqxw" not in html and "qqyes" not in html, url
        assert "#123;#123;" in html.replace("&", "").replace("\\u0026", ""), url  # the braces, as entities


def test_campaign_origins_endpoint_thresholds_and_isolation(client, login, make_user):
    owner = make_user()
    camp = campaign_of(owner)
    a = held_rally(camp, going=20, rsvp_in=12)
    b = held_rally(camp, going=20, rsvp_in=12)
    make_ticket(a, "Ana Smith", postal_code="60614", guests=2, checked_in_people=3)
    make_ticket(b, "Bo Jones", postal_code="60614", guests=1, checked_in_people=2)  # 60614: 3 + 2 = 5 across rallies
    make_ticket(a, "Cy Lee", postal_code="60607", guests=3, checked_in_people=4)  # 60607: 4, never drawn
    stranger = campaign_of(make_user())
    make_ticket(held_rally(stranger, going=9, rsvp_in=9), "Di Park", postal_code="60607", guests=8, checked_in_people=9)
    login(client, owner)
    data = client.get(f"/turnout/api/campaigns/{camp.id}/origins").get_json()
    assert (data["zips"], data["people"], data["min_people"]) == (1, 5, 5)
    (point,) = data["points"]
    assert point[2] == 1.0 and 41.9 < point[0] < 42.0
    assert client.get(f"/turnout/api/campaigns/{stranger.id}/origins").status_code == 404
