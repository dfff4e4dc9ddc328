"""Geocoding (geopy Nominatim with an offline gazetteer fallback), distances and "rallies near me".

Policy:
- A street address is looked up online (Nominatim, 1 request per second via geopy's
  RateLimiter, with a timeout). US ZIPs and cities come from the offline gazetteer,
  which is as good for those precisions and costs no network call.
- Answers from the network are cached in ``GeocodeCache`` for good; misses are cached
  too, for ``GEOCODE_MISS_TTL_DAYS`` (default 30), so a typo is not re-sent on every
  save but a newly mapped street is found eventually. Network errors are never cached.
- On a network error, or when ``GEOCODER=offline``, the gazetteer answers alone.
- Tests pass a fake geocoder (anything with ``.geocode(query, **kwargs)``) or put one in
  ``app.extensions["rallies.geocoder"]``; they never touch the network.
- Distances are geopy's: the WGS-84 geodesic (Karney) that ``geopy.distance.geodesic`` returns,
  computed by pyproj's ``Geod.inv`` (Karney's C library; geopy runs the pure-Python port, ~40x
  slower). Tests compare ``geodesic_km`` with ``geopy.distance.geodesic`` (within 1e-9 km).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import GeocodeCache, Rally, utcnow
from ..models.rallies import (
    PRECISION_CITY,
    PRECISION_MANUAL,
    PRECISION_NONE,
    PRECISION_STREET,
    PRECISION_ZIP,
    STATUS_SCHEDULED,
    VISIBILITY_LISTED,
)
from . import gazetteer

log = logging.getLogger(__name__)

KM_PER_MILE = 1.609344
#: Nominatim result types that locate less than a street address.
_COARSE_TYPES = {
    "city", "town", "village", "hamlet", "municipality", "county", "state", "country", "postcode",
    "suburb", "neighbourhood", "quarter", "borough", "region", "administrative",
}
_geocoders: dict[tuple, object] = {}


@dataclass(frozen=True)
class GeoResult:
    """Where an address landed and how precisely."""

    lat: float | None
    lon: float | None
    precision: str
    source: str = ""
    display_name: str = ""
    timezone: str | None = None

    @property
    def found(self) -> bool:
        """True when the address has a position."""
        return self.lat is not None and self.lon is not None


NOT_FOUND = GeoResult(None, None, PRECISION_NONE)


@dataclass(frozen=True)
class Address:
    """The parts of an address as the organizer typed them."""

    street: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = "US"

    def key(self) -> str:
        """Normalised cache key: case, accents and spacing do not make a new lookup."""
        parts = (self.street, self.city, self.state, self.postal_code, self.country or "US")
        return "|".join(gazetteer.fold(p) for p in parts)


def default_geocoder():
    """The configured network geocoder (rate-limited Nominatim), or None when GEOCODER=offline."""
    app = current_app
    injected = app.extensions.get("rallies.geocoder")
    if injected is not None:
        return injected
    if app.config.get("GEOCODER", "nominatim") == "offline":
        return None
    key = (app.config["GEOCODER_USER_AGENT"], app.config["GEOCODER_TIMEOUT"], app.config["GEOCODER_MIN_DELAY"])
    if key not in _geocoders:
        from geopy.extra.rate_limiter import RateLimiter
        from geopy.geocoders import Nominatim

        nominatim = Nominatim(user_agent=key[0], timeout=key[1])
        # One request per second is Nominatim's usage policy; errors propagate so we can fall back.
        _geocoders[key] = _Limited(RateLimiter(nominatim.geocode, min_delay_seconds=key[2], max_retries=0,
                                               swallow_exceptions=False))
    return _geocoders[key]


class _Limited:
    """Wraps a RateLimiter so it looks like a geocoder (``.geocode``)."""

    def __init__(self, limited):
        self.geocode = limited


def geocode(address: Address, geocoder=None, *, offline: bool | None = None) -> GeoResult:
    """Locate an address: street online (cached), else ZIP, else city; NOT_FOUND if nothing matches.

    ``geocoder`` overrides the configured one (tests inject fakes); ``offline=True`` skips the network.
    """
    if geocoder is None and not offline:
        geocoder = default_geocoder()
    if offline:
        geocoder = None
    country = (address.country or "US").upper()
    if geocoder is not None and address.street.strip():
        result = _street_online(address, geocoder)
        if result is not None and result.found:
            return result
        if result is None:
            geocoder = None  # the network just failed: do not wait for it twice in one save
    place = gazetteer.geocode_offline(address.street, address.city, address.state, address.postal_code, country)
    if place is not None:
        return GeoResult(place.lat, place.lon, place.precision, place.source, place.label, place.timezone)
    if geocoder is not None and country != "US" and (address.city or address.postal_code):
        # Outside the US the gazetteer knows only larger cities; ask the network for the rest.
        result = _online(address, geocoder, street=False)
        if result is not None and result.found:
            return result
    return NOT_FOUND


def _street_online(address: Address, geocoder) -> GeoResult | None:
    return _online(address, geocoder, street=True)


def _online(address: Address, geocoder, *, street: bool) -> GeoResult | None:
    """A cached network lookup; None when the network failed (so the caller falls back)."""
    parts = address if street else Address("", address.city, address.state, address.postal_code, address.country)
    key = "nominatim|" + parts.key()
    cached = db.session.scalar(db.select(GeocodeCache).where(GeocodeCache.query_key == key))
    if cached is not None and not _expired_miss(cached):
        if cached.lat is None:
            return NOT_FOUND
        return GeoResult(cached.lat, cached.lon, cached.precision, cached.source, cached.display_name,
                         gazetteer.nearest_timezone(cached.lat, cached.lon))
    query = {k: v for k, v in (("street", parts.street), ("city", parts.city), ("state", parts.state),
                               ("postalcode", parts.postal_code)) if v}
    from geopy.exc import GeopyError  # geopy loads on the first online lookup, not at import

    try:
        location = geocoder.geocode(query, exactly_one=True, country_codes=(parts.country or "US").lower(),
                                    addressdetails=False)
    except GeopyError as exc:
        # Timeouts, outages and refusals: answer offline this time and ask again next time.
        log.warning("Geocoder unavailable (%s); using the offline gazetteer", type(exc).__name__)
        return None
    if location is None:
        result = NOT_FOUND
    else:
        raw = getattr(location, "raw", None) or {}
        kind = raw.get("addresstype") or raw.get("type") or ""
        precision = PRECISION_STREET if street and kind not in _COARSE_TYPES else (
            PRECISION_ZIP if kind == "postcode" else PRECISION_CITY)
        result = GeoResult(float(location.latitude), float(location.longitude), precision, "nominatim",
                           (getattr(location, "address", "") or "")[:400])
    _store(key, result, cached)
    if not result.found:
        return result
    return GeoResult(result.lat, result.lon, result.precision, result.source, result.display_name,
                     gazetteer.nearest_timezone(result.lat, result.lon))


def _expired_miss(row: GeocodeCache) -> bool:
    days = current_app.config.get("GEOCODE_MISS_TTL_DAYS", 30)
    return row.lat is None and row.created_at < utcnow() - timedelta(days=days)


def _store(key: str, result: GeoResult, existing: GeocodeCache | None) -> None:
    """Cache the answer in its own write unit (geocode() runs before the caller's write)."""
    from sqlalchemy.exc import IntegrityError

    from ..database import atomic

    try:
        with atomic():
            row = db.session.scalar(db.select(GeocodeCache).where(GeocodeCache.query_key == key))
            if row is None:
                row = GeocodeCache(query_key=key)
                db.session.add(row)
            row.lat, row.lon, row.precision = result.lat, result.lon, result.precision
            row.source, row.display_name, row.created_at = result.source or "nominatim", result.display_name, utcnow()
    except IntegrityError:
        pass  # a concurrent request cached the same query a moment ago; theirs is as good


def manual_pin(lat: float, lon: float) -> GeoResult:
    """A position the organizer set by hand (dragged marker or typed coordinates)."""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError("Latitude must be between -90 and 90 and longitude between -180 and 180.")
    return GeoResult(lat, lon, PRECISION_MANUAL, "manual", "", gazetteer.nearest_timezone(lat, lon))


# --- Distances and "near me" -------------------------------------------------------------------


def to_miles(km: float) -> float:
    """Kilometres to statute miles."""
    return km / KM_PER_MILE


def radius_km(radius: float, unit: str) -> float:
    """A radius in miles or km, in km."""
    return radius * KM_PER_MILE if unit == "mi" else radius


def bounding_box(lat: float, lon: float, km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) that contains every point within km (slightly generous)."""
    # 110.574 km per degree of latitude is its minimum (at the equator); the 1% margin covers
    # the ellipsoid, so the box never cuts off a point the exact distance would keep.
    dlat = km / 110.574 * 1.01
    min_lat, max_lat = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    coslat = min(math.cos(math.radians(min_lat)), math.cos(math.radians(max_lat)))
    if coslat <= 0.01:
        return min_lat, max_lat, -180.0, 180.0
    dlon = km / (111.320 * coslat) * 1.01
    if dlon >= 180:
        return min_lat, max_lat, -180.0, 180.0
    # Boxes crossing the antimeridian are widened to every longitude: rare for rallies, and still correct.
    if lon - dlon < -180 or lon + dlon > 180:
        return min_lat, max_lat, -180.0, 180.0
    return min_lat, max_lat, lon - dlon, lon + dlon


#: What a search result carries: the public card fields, not the whole row (no keys, no counters).
_RALLY = Rally.__table__
CARD_COLUMNS = tuple(_RALLY.c[name] for name in (
    "id", "slug", "title", "starts_at", "timezone", "venue_name", "city", "state", "lat", "lon"))


@dataclass(frozen=True)
class Nearby:
    """A rally (a row of CARD_COLUMNS, read like a Rally) and its exact (geodesic) distance from the search point."""

    rally: object
    km: float

    @property
    def miles(self) -> float:
        """The distance in statute miles."""
        return to_miles(self.km)


@dataclass(frozen=True)
class NearResults:
    """One page of rallies near a point, nearest first, and how many there are in all."""

    items: list[Nearby]
    total: int
    offset: int


#: Great-circle distance on the mean sphere differs from the WGS84 geodesic by at most 0.56% (measured
#: over 20,000 random pairs up to 900 km at latitudes to ±80°: ratios 0.9944 to 1.0044); 0.7% is the margin.
_SPHERE_ERROR = 0.007
_EARTH_KM = 6371.0088


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * _EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


#: The WGS-84 geodesic that geopy's ``geodesic`` measures (Karney's algorithm), solved in C: pyproj's
#: ``Geod.inv`` wraps Karney's own geodesic.c, geopy runs geographiclib's pure-Python port of it
#: (~40-60 µs a pair, most of a near-me search's time). Same ellipsoid (geopy's WGS-84 a and f), same
#: algorithm: the two agree to nanometres (tests/test_discovery.py checks against geopy to 1e-9 km).
#: Built on first use (pyproj and geopy cost a worker ~0.1 s to import) or by rallies.warm_up().
@lru_cache(maxsize=1)
def wgs84():
    """The WGS-84 ``pyproj.Geod`` with geopy's ellipsoid constants."""
    from geopy.distance import ELLIPSOIDS
    from pyproj import Geod

    return Geod(a=ELLIPSOIDS["WGS-84"][0] * 1000, f=ELLIPSOIDS["WGS-84"][2])


def _spherical(lat: float, lon: float, rows) -> list[tuple[float, int, float, float]]:
    """(_haversine_km, id, lat, lon) for each (id, lat, lon) row: the same arithmetic, with the origin's
    sine and cosine hoisted out of the loop (this runs over every candidate in the box)."""
    sin, cos, asin, sqrt, rad = math.sin, math.cos, math.asin, math.sqrt, math.radians
    p1 = rad(lat)
    c1 = cos(p1)
    out = []
    for rid, rlat, rlon in rows:
        p2 = rad(rlat)
        a = sin((p2 - p1) / 2) ** 2 + c1 * cos(p2) * sin(rad(rlon - lon) / 2) ** 2
        out.append((2 * _EARTH_KM * asin(min(1.0, sqrt(a))), rid, rlat, rlon))
    return out


def _candidates(*columns):
    """Upcoming listed rallies in a bounding box (ix_rally_lat_lon), as Core columns: the ORM's
    per-statement setup cost ~0.3 ms of ~1 ms for the 900 candidates of a Manhattan ZIP. Built once
    with bound parameters: rebuilding and re-keying these (and an IN list of 20 literal ids) on every
    search cost ~0.28 ms of ~0.6 ms on SQLite."""
    t = _RALLY
    return sa.select(*columns).where(
        t.c.lat.between(sa.bindparam("min_lat"), sa.bindparam("max_lat")),
        t.c.lon.between(sa.bindparam("min_lon"), sa.bindparam("max_lon")),
        t.c.visibility == VISIBILITY_LISTED, t.c.status == STATUS_SCHEDULED, t.c.ends_at > sa.bindparam("now"),
    )


_CANDIDATE_CARDS = _candidates(*CARD_COLUMNS)
_CANDIDATE_POINTS = _candidates(_RALLY.c.id, _RALLY.c.lat, _RALLY.c.lon)
_CARDS_BY_ID = sa.select(*CARD_COLUMNS).where(_RALLY.c.id.in_(sa.bindparam("ids", expanding=True)))


@lru_cache(maxsize=100_000)
def geodesic_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """geopy's geodesic (WGS84) distance in km, memoised: searches from the same ZIP or city centre
    repeat the same pairs (a hit costs a fraction of even the C solution's ~1 µs)."""
    return wgs84().inv(lon1, lat1, lon2, lat2)[2] / 1000


def rallies_near(lat: float, lon: float, km: float, *, limit: int = 20, offset: int = 0, now=None) -> NearResults:
    """Upcoming listed rallies within km of (lat, lon), nearest first by exact geodesic distance (geopy).

    Three steps, each cheaper than the next is exact: a bounding box in SQL (ix_rally_lat_lon)
    picks candidates; a spherical distance ranks them; the geodesic (geodesic_km) then measures only the
    rallies that could be on this page or sit on the radius' edge (within the sphere's error).
    The page and the total are the same as measuring every candidate exactly.
    """
    box = dict(zip(("min_lat", "max_lat", "min_lon", "max_lon"), bounding_box(lat, lon, km), strict=True))
    # A database server costs a round trip per query (on a busy host, a context switch each way): there
    # the candidates come with their card columns, in one query. SQLite is in-process: reading ~20
    # cards afterwards is cheaper than converting every candidate's columns.
    one_trip = db.session.get_bind().dialect.name != "sqlite"
    candidates = db.session.execute(_CANDIDATE_CARDS if one_trip else _CANDIDATE_POINTS,
                                    {**box, "now": now or utcnow()}).all()
    lo, hi = 1 - _SPHERE_ERROR, 1 + _SPHERE_ERROR
    points = ((r.id, r.lat, r.lon) for r in candidates) if one_trip else candidates
    rough = sorted(c for c in _spherical(lat, lon, points) if c[0] * lo <= km)  # farther: surely outside
    exact: dict[int, float] = {}

    def measure(item) -> float:
        if item[1] not in exact:
            exact[item[1]] = geodesic_km(lat, lon, item[2], item[3])
        return exact[item[1]]

    # The total: sure-ins by the sphere, plus edge cases settled by the geodesic.
    total = sum(1 for c in rough if c[0] * hi <= km or measure(c) <= km)
    # The page: every rally whose geodesic could rank among the first offset+limit.
    wanted = offset + limit
    if len(rough) > wanted:
        bound = rough[wanted - 1][0] * hi / lo
        rough = [c for c in rough if c[0] <= bound]
    ranked = sorted((d, c[1]) for c in rough if (d := measure(c)) <= km)[offset:wanted]
    if not ranked:
        return NearResults([], total, offset)
    if one_trip:
        rallies = {r.id: r for r in candidates}
    else:
        ids = [rid for _, rid in ranked]
        rallies = {r.id: r for r in db.session.execute(_CARDS_BY_ID, {"ids": ids})}
    return NearResults([Nearby(rallies[rid], d) for d, rid in ranked if rid in rallies], total, offset)
