"""Geocoding: fake network geocoders, fallback to the offline gazetteer, the cache, pins, time zones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from geopy.exc import GeocoderTimedOut, GeocoderUnavailable

from rallies.database import atomic
from rallies.extensions import db
from rallies.geo import gazetteer, geocode
from rallies.models import GeocodeCache, Rally, utcnow
from tests.factories import campaign_of
from tests.rallies.test_rallies import create, only_rally

ADDRESS = geocode.Address("422 Guadalupe St", "Austin", "TX", "78701", "US")


class FakeLocation:
    def __init__(self, lat, lon, kind="house", address="422 Guadalupe St, Austin"):
        self.latitude, self.longitude, self.address = lat, lon, address
        self.raw = {"addresstype": kind}


class FakeGeocoder:
    """Stands in for geopy's Nominatim: records queries, answers from a script."""

    def __init__(self, answer=None, error=None):
        self.answer, self.error, self.calls = answer, error, []

    def geocode(self, query, **kwargs):
        self.calls.append((query, kwargs))
        if self.error:
            raise self.error
        return self.answer


def test_street_answer_is_used_and_cached(app):
    fake = FakeGeocoder(FakeLocation(30.2679, -97.7469))
    first = geocode.geocode(ADDRESS, fake)
    assert (first.lat, first.lon, first.precision, first.source) == (30.2679, -97.7469, "street", "nominatim")
    assert first.timezone == "America/Chicago"
    query, kwargs = fake.calls[0]
    assert query == {"street": "422 Guadalupe St", "city": "Austin", "state": "TX", "postalcode": "78701"}
    assert kwargs["country_codes"] == "us"
    # Same address typed differently: answered from the cache, the geocoder is not called again.
    again = geocode.geocode(geocode.Address("422  guadalupe st", "AUSTIN", "tx", "78701", "us"), fake)
    assert again.lat == 30.2679 and again.precision == "street"
    assert len(fake.calls) == 1
    assert db.session.scalar(db.select(db.func.count(GeocodeCache.id))) == 1


def test_network_failure_falls_back_offline_and_is_not_cached(app):
    for error in (GeocoderUnavailable("down"), GeocoderTimedOut("slow")):
        fake = FakeGeocoder(error=error)
        result = geocode.geocode(ADDRESS, fake)
        assert len(fake.calls) == 1
        assert (result.precision, result.source) == ("zip", "gazetteer")
        assert result.lat == pytest.approx(30.2713) and result.timezone == "America/Chicago"
    assert db.session.scalar(db.select(db.func.count(GeocodeCache.id))) == 0
    # Next time the network is asked again (an outage is not an answer).
    fake = FakeGeocoder(FakeLocation(30.2679, -97.7469))
    assert geocode.geocode(ADDRESS, fake).precision == "street"


def test_miss_is_cached_then_expires(app):
    fake = FakeGeocoder(None)
    result = geocode.geocode(ADDRESS, fake)
    assert result.precision == "zip"  # street not found: the ZIP centre answers
    geocode.geocode(ADDRESS, fake)
    assert len(fake.calls) == 1
    row = db.session.scalar(db.select(GeocodeCache))
    assert row.lat is None
    with atomic():
        row.created_at = utcnow() - timedelta(days=31)
    geocode.geocode(ADDRESS, fake)
    assert len(fake.calls) == 2


def test_coarse_network_answer_is_not_called_street(app):
    fake = FakeGeocoder(FakeLocation(30.27, -97.74, kind="city"))
    assert geocode.geocode(ADDRESS, fake).precision == "city"


def test_offline_mode_never_calls_the_network(app):
    # TestingConfig sets GEOCODER=offline: no geocoder is built at all.
    assert geocode.default_geocoder() is None
    result = geocode.geocode(ADDRESS)
    assert (result.precision, result.source) == ("zip", "gazetteer")
    city_only = geocode.geocode(geocode.Address("", "Denver", "CO", "", "US"))
    assert city_only.precision == "city" and city_only.timezone == "America/Denver"
    assert geocode.geocode(geocode.Address("1 Nowhere Rd", "Nowhereville", "TX", "", "US")) == geocode.NOT_FOUND


def test_injected_geocoder_is_used_by_the_create_view(app, client, make_user, login):
    fake = FakeGeocoder(FakeLocation(30.2679, -97.7469))
    app.extensions["rallies.geocoder"] = fake
    try:
        login(client, user := make_user())
        assert create(client, user).status_code == 302
    finally:
        del app.extensions["rallies.geocoder"]
    rally = only_rally()
    assert (rally.lat, rally.lon, rally.geo_precision, rally.geo_source) == (30.2679, -97.7469, "street", "nominatim")
    page = client.get(f"/organize/rallies/{rally.id}").text
    assert "30.26790, -97.74690" in page and "street address" in page


def test_nominatim_is_rate_limited_with_user_agent_and_timeout(app_factory):
    app = app_factory(GEOCODER="nominatim", GEOCODER_USER_AGENT="rallies-test/1", GEOCODER_TIMEOUT=3.5,
                      GEOCODER_MIN_DELAY=1.0)
    with app.app_context():
        limited = geocode.default_geocoder()
    rate_limiter = limited.geocode
    assert rate_limiter.min_delay_seconds == 1.0
    nominatim = rate_limiter.func.__self__
    assert nominatim.headers["User-Agent"] == "rallies-test/1" and nominatim.timeout == 3.5


def test_pin_correction_by_typed_coordinates(client, make_user, login):
    login(client, user := make_user())
    create(client, user)
    rally = only_rally()
    page = client.get(f"/organize/rallies/{rally.id}").text
    assert 'id="lat"' in page and 'draggable": true' in page and '.on("dragend"' in page
    resp = client.post(f"/organize/rallies/{rally.id}/pin", data={"lat": "30.264", "lon": "-97.7471"})
    assert resp.status_code == 302
    db.session.expire_all()
    rally = only_rally()
    assert (rally.lat, rally.lon, rally.geo_precision) == (30.264, -97.7471, "manual")
    assert "set by hand" in client.get(resp.location).text


@pytest.mark.parametrize(("lat", "lon", "message"), [
    ("95", "-97", "Latitude is between -90 and 90."),
    ("30", "-200", "Longitude is between -180 and 180."),
    ("", "-97", "Enter a latitude."),
    ("north", "-97", "Not a valid decimal value."),
])
def test_pin_errors(client, make_user, login, lat, lon, message):
    login(client, user := make_user())
    create(client, user)
    rally = only_rally()
    resp = client.post(f"/organize/rallies/{rally.id}/pin", data={"lat": lat, "lon": lon})
    assert resp.status_code == 422 and message in resp.text
    db.session.expire_all()
    assert only_rally().geo_precision == "zip"


def test_flagged_rally_can_be_placed_by_hand(client, make_user, login):
    login(client, user := make_user())
    create(client, user, postal_code="", city="Nowhereville", address="1 Nowhere Rd", timezone="America/Chicago")
    rally = only_rally()
    page = client.get(f"/organize/rallies/{rally.id}").text
    assert "flagged: address not found" in page and 'class="folium-map"' in page  # a pin to drag
    client.post(f"/organize/rallies/{rally.id}/pin", data={"lat": "31.1", "lon": "-97.9"})
    assert "flagged" not in client.get(f"/organize/rallies/{rally.id}").text


def test_geocode_again_uses_the_address(client, app, make_user, login, make_rally):
    login(client, user := make_user())
    rally = make_rally(campaign_of(user), lat=None, lon=None, geo_precision="none", postal_code="60607")
    assert client.post(f"/organize/rallies/{rally.id}/geocode").status_code == 302
    db.session.expire_all()
    rally = db.session.get(Rally, rally.id)
    assert rally.geo_precision == "zip" and rally.lat == pytest.approx(41.88, abs=0.05)


# --- The gazetteer ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "label", "precision"), [
    ("78701", "78701 (Austin, TX)", "zip"),
    ("78701-1234", "78701 (Austin, TX)", "zip"),
    ("Austin, TX", "Austin, TX", "city"),
    ("austin, texas", "Austin, TX", "city"),
    ("Austin", "Austin, TX", "city"),  # the most populous Austin
    ("Austin, MN", "Austin, MN", "city"),
    ("Saint Louis, MO", "St. Louis, MO", "city"),
    ("San Jose, CA", "San Jose, CA", "city"),
    ("Marfa, TX", "Marfa, TX", "city"),  # a small town, from ZIP centroids
    ("Austin, TX 78701", "Austin, TX", "city"),
])
def test_gazetteer_resolves_what_people_type(text, label, precision):
    place = gazetteer.parse_place(text)
    assert place is not None and place.label == label and place.precision == precision


@pytest.mark.parametrize("text", ["99999", "Atlantis, TX", "Austin, XX", "", "   "])
def test_gazetteer_unknowns(text):
    assert gazetteer.parse_place(text) is None


def test_state_codes_and_time_zones():
    assert gazetteer.state_code("texas") == "TX" and gazetteer.state_code("dc") == "DC"
    assert gazetteer.state_code("Narnia") is None
    assert gazetteer.nearest_timezone(39.74, -104.99) == "America/Denver"
    assert gazetteer.nearest_timezone(33.45, -112.07) == "America/Phoenix"
    assert gazetteer.nearest_timezone(48.85, 2.35) == "Europe/Paris"
    assert gazetteer.nearest_timezone(0.0, -150.0) is None  # mid-Pacific: no guess


def test_outside_the_us_the_network_answers_city_level(app):
    fake = FakeGeocoder(FakeLocation(48.8566, 2.3522, kind="city", address="Paris, France"))
    result = geocode.geocode(geocode.Address("", "Lyon-ish", "", "", "FR"), fake)
    assert (result.precision, result.source) == ("city", "nominatim")
    assert result.timezone == "Europe/Paris"


def test_a_failed_network_is_not_asked_twice_in_one_lookup(app):
    fake = FakeGeocoder(error=GeocoderUnavailable("down"))
    result = geocode.geocode(geocode.Address("1 Rue Inconnue", "Nowhere-sur-Mer", "", "", "FR"), fake)
    assert result == geocode.NOT_FOUND and len(fake.calls) == 1
