"""Rallies near me: exact distances (checked by hand), the bounding box, messages, rate limits."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from rallies.services import geo
from tests.conftest import campaign_of

# ZIP 78701's centroid, as the zipcodes package ships it.
ORIGIN = (30.2713, -97.7426)

# Hand-checked on the WGS84 ellipsoid (a = 6378.137 km, e² = 0.00669438):
# - 0.1° due north: meridian radius M = a(1-e²)/(1-e² sin²φ)^1.5 at φ = 30.3213° is 6351.69 km/rad,
#   i.e. 110.857 km per degree, so 11.086 km (6.888 mi).
# - 0.2° due east: N cos φ at φ = 30.2713° is 5513.06 km/rad, i.e. 96.220 km per degree, so 19.244 km
#   (11.958 mi). Over this short span the geodesic and the parallel differ by under 2 m.
NORTH_KM = 11.086
EAST_KM = 19.244


@pytest.fixture
def places(make_user, make_rally):
    campaign = campaign_of(make_user())
    lat, lon = ORIGIN
    made = {
        "north": make_rally(campaign, title="North rally", lat=lat + 0.1, lon=lon),
        "east": make_rally(campaign, title="East rally", lat=lat, lon=lon + 0.2),
        # Inside the bounding box of a 25-mile search, but about 47 km (29 mi) away: only the exact
        # distance can leave it out.
        "corner": make_rally(campaign, title="Corner rally", lat=lat + 0.3, lon=lon + 0.35),
        "far": make_rally(campaign, title="Chicago rally"),
    }
    # Same spot as "north", but none of these may be found.
    for title, fields in {
        "Draft rally": {"visibility": "draft"},
        "Unlisted rally": {"visibility": "unlisted"},
        "Cancelled rally": {"status": "cancelled"},
        "Past rally": {"starts_at": datetime.now(UTC) - timedelta(days=2)},
        "Unplaced rally": {"lat": None, "lon": None, "geo_precision": "none"},
    }.items():
        made[title] = make_rally(campaign, title=title, **{"lat": lat + 0.1, "lon": lon, **fields})
    return made


def test_exact_geodesic_distances_nearest_first(app, places):
    result = geo.rallies_near(*ORIGIN, geo.radius_km(25, "mi"))
    found = result.items
    assert result.total == 2
    assert [n.rally.title for n in found] == ["North rally", "East rally"]
    assert found[0].km == pytest.approx(NORTH_KM, abs=0.01)
    assert found[1].km == pytest.approx(EAST_KM, abs=0.01)
    assert found[0].miles == pytest.approx(6.888, abs=0.01)
    wider = geo.rallies_near(*ORIGIN, geo.radius_km(30, "mi")).items
    assert [n.rally.title for n in wider] == ["North rally", "East rally", "Corner rally"]
    assert [n.rally.title for n in geo.rallies_near(*ORIGIN, 15.0).items] == ["North rally"]  # east is 19 km


def test_pages_and_total_match_measuring_everything_exactly(app, make_user, make_rally):
    """The sphere-then-geodesic shortcut gives exactly what geodesic on every candidate gives."""
    import random

    from geopy.distance import geodesic

    rng = random.Random(3)
    campaign = campaign_of(make_user())
    points = {}
    for i in range(120):
        lat, lon = ORIGIN[0] + rng.uniform(-0.6, 0.6), ORIGIN[1] + rng.uniform(-0.7, 0.7)
        points[make_rally(campaign, title=f"R{i}", slug=f"r{i}", lat=lat, lon=lon).id] = (lat, lon)
    km = geo.radius_km(25, "mi")
    truth = sorted((geodesic(ORIGIN, p).km, rid) for rid, p in points.items())
    truth = [(d, rid) for d, rid in truth if d <= km]
    assert 30 < len(truth) < 120  # some in, some in the box but out of the circle
    pages = []
    for offset in range(0, len(truth) + 20, 20):
        result = geo.rallies_near(*ORIGIN, km, limit=20, offset=offset)
        assert result.total == len(truth)
        pages += [(n.km, n.rally.id) for n in result.items]
    assert [rid for _, rid in pages] == [rid for _, rid in truth]
    assert all(abs(a - b) < 1e-9 for (a, _), (b, _) in zip(pages, truth, strict=True))


def test_near_page_paginates(client, make_user, make_rally):
    campaign = campaign_of(make_user())
    for i in range(25):
        make_rally(campaign, title=f"Stop {i:02d}", lat=ORIGIN[0] + 0.01 * (i + 1), lon=ORIGIN[1])
    first = client.get("/near?q=78701&radius=50").text
    assert "25 upcoming rallies within 50 miles" in first and "Showing 1–20" in first
    assert "Stop 19" in first and "Stop 20" not in first and "Farther" in first
    second = client.get("/near?q=78701&radius=50&page=2").text
    assert "Showing 21–25" in second and "Stop 20" in second and "Stop 24" in second and "Stop 19" not in second


def test_near_by_zip_shows_distances_in_miles(client, places):
    resp = client.get("/near?q=78701&radius=25&unit=mi")
    assert resp.status_code == 200
    html = resp.text
    assert "2 upcoming rallies within 25 miles of 78701 (Austin, TX)" in html
    assert html.index("North rally") < html.index("East rally")
    assert "6.9 mi" in html and "12.0 mi" in html
    for absent in ("Corner rally", "Chicago rally", "Draft rally", "Unlisted rally", "Cancelled rally",
                   "Past rally", "Unplaced rally"):
        assert absent not in html
    assert 'class="points-map"' in html and '"title": "North rally \\u00b7 Union Park"' in html
    assert f'"url": "/r/{places["north"].slug}"' in html


def test_near_in_km_and_by_city_and_by_location(client, places):
    km = client.get("/near?q=78701&radius=20&unit=km").text
    assert "within 20 km" in km and "11.1 km" in km and "19.2 km" in km
    city = client.get("/near?q=Austin%2C+TX&radius=25").text
    assert "of Austin, TX" in city and "North rally" in city
    here = client.get(f"/near?lat={ORIGIN[0]}&lon={ORIGIN[1]}&radius=25&unit=mi").text
    assert "of your location" in here and "6.9 mi" in here
    # The hidden fields keep the location, so changing the radius searches around the same point.
    assert f'id="near-lat" name="lat" value="{ORIGIN[0]}"' in here
    assert f'id="near-lon" name="lon" value="{ORIGIN[1]}"' in here
    assert 'id="near-lat" name="lat" value=""' in city


def test_nothing_near(client, places):
    html = client.get("/near?q=10001&radius=5").text
    assert "0 upcoming rallies within 5 miles" in html and "No upcoming rallies that close" in html


@pytest.mark.parametrize(("query", "status", "message"), [
    ("q=99999", 404, "We don&#39;t know the ZIP code 99999."),
    ("q=Atlantis%2C+TX", 404, "We couldn&#39;t find “Atlantis, TX”."),
    ("q=1234", 404, "A US ZIP code has five digits"),
    ("q=78701&radius=0", 422, "Choose a radius between 1 and 500."),
    ("q=78701&radius=9999", 422, "Choose a radius between 1 and 500."),
    ("q=78701&unit=furlongs", 422, "Not a valid choice"),
    ("lat=95&lon=0", 422, "We could not use that location."),
])
def test_unknown_places_and_bad_input_get_clear_messages(client, query, status, message):
    resp = client.get(f"/near?{query}")
    assert resp.status_code == status
    assert message in resp.text


def test_empty_search_shows_the_form(client):
    html = client.get("/near").text
    assert 'id="near-form"' in html and "/static/js/near.js" in html and "upcoming rall" not in html


def test_bounding_box_contains_every_point_within_radius():
    # Points exactly on the circle, all the way round, at several latitudes and radii.
    from geopy.distance import geodesic

    for lat, lon, km in [(30.27, -97.74, 40.0), (61.2, -149.9, 300.0), (25.8, -80.2, 5.0), (47.6, -122.3, 160.0)]:
        min_lat, max_lat, min_lon, max_lon = geo.bounding_box(lat, lon, km)
        for bearing in range(0, 360, 5):
            p = geodesic(kilometers=km).destination((lat, lon), bearing)
            assert min_lat <= p.latitude <= max_lat and min_lon <= p.longitude <= max_lon, (lat, bearing)
        # ...and it is not absurdly big: no more than 3% wider than the circle.
        assert (max_lat - min_lat) * 110.574 / 2 < km * 1.03 * 1.01
        assert math.isfinite(min_lon)


def test_public_pages_are_rate_limited(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_PUBLIC="3 per minute")
    client = app.test_client()
    with app.app_context():
        codes = [client.get("/near?q=78701").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert client.get("/").status_code == 200  # limits are per endpoint


def test_sphere_margin_covers_the_ellipsoid():
    """rallies_near trusts the sphere to within _SPHERE_ERROR; check that on pairs up to the 500-mile radius."""
    import random

    from geopy.distance import geodesic

    rng = random.Random(11)
    for _ in range(3000):
        lat, lon = rng.uniform(-80, 80), rng.uniform(-180, 180)
        km = rng.uniform(0.5, geo.radius_km(500, "mi"))
        p = geodesic(kilometers=km).destination((lat, lon), rng.uniform(0, 360))
        ratio = km / geo._haversine_km(lat, lon, p.latitude, p.longitude)
        assert abs(ratio - 1) < geo._SPHERE_ERROR


def test_geodesic_km_is_geopys_geodesic():
    """geodesic_km solves geopy's geodesic in C (pyproj, Karney's geodesic.c): the "geopy distances" of
    the issue must stay geopy's, to within a micrometre, over short, long, polar and near-antipodal pairs."""
    import random

    from geopy.distance import geodesic

    rng = random.Random(5)
    geo.geodesic_km.cache_clear()
    pairs = [((30.27, -97.74), (30.27, -97.74)), ((0.0, 0.0), (0.5, 179.7)), ((89.9, 10.0), (-89.9, -170.0)),
             ((90.0, 0.0), (-90.0, 0.0)), ((40.7, -74.0), (40.7, -73.9999999))]
    for _ in range(2000):
        lat, lon = rng.uniform(-89, 89), rng.uniform(-180, 180)
        pairs.append(((lat, lon), (max(-90.0, min(90.0, lat + rng.uniform(-8, 8))), rng.uniform(-180, 180))))
    for _ in range(500):  # the near-me range: up to 500 miles
        lat, lon = rng.uniform(-80, 80), rng.uniform(-180, 180)
        pairs.append(((lat, lon), (lat + rng.uniform(-7, 7), lon + rng.uniform(-9, 9))))
    for (lat, lon), (lat2, lon2) in pairs:
        assert abs(geo.geodesic_km(lat, lon, lat2, lon2) - geodesic((lat, lon), (lat2, lon2)).km) < 1e-9


def test_spherical_ranking_is_the_haversine():
    """The hoisted loop that ranks candidates gives exactly _haversine_km (whose margin is tested above)."""
    import random

    rng = random.Random(9)
    rows = [(i, rng.uniform(-85, 85), rng.uniform(-180, 180)) for i in range(3000)]
    for lat, lon in [(30.27, -97.74), (-45.0, 170.0), (70.0, 0.0)]:
        assert [(d, i) for d, i, _, _ in geo._spherical(lat, lon, rows)] == [
            (geo._haversine_km(lat, lon, a, b), i) for i, a, b in rows]
