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
- Near me: a bounding box in SQL (ix_rally_lat_lon), then a haversine on a sphere whose radius is the
  Earth's curvature at the search point; within 0.5% of geopy's WGS-84 geodesic over the near-me range
  (tests check), which no one at a rally can tell apart.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import timedelta

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

#: WGS-84 semi-major axis (km) and first eccentricity squared.
_WGS84_A = 6378.137
_WGS84_E2 = 0.00669437999014


def to_miles(km: float) -> float:
    """Kilometres to statute miles."""
    return km / KM_PER_MILE


def radius_km(radius: float, unit: str) -> float:
    """A radius in miles or km, in km."""
    return radius * KM_PER_MILE if unit == "mi" else radius


def earth_radius_km(lat: float) -> float:
    """The Gaussian radius of curvature of WGS-84 at a latitude: the sphere that best fits the ellipsoid there.

    The mean radius (6371 km) is off by up to 0.56% north-south near the equator; this one by at most
    about 0.34% in any direction, so a haversine with it stays within 0.5% of the geodesic.
    """
    s2 = _WGS84_E2 * math.sin(math.radians(lat)) ** 2
    return _WGS84_A * math.sqrt(1 - _WGS84_E2) / (1 - s2)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float, radius: float) -> float:
    """Great-circle distance in km on a sphere of the given radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * radius * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lon: float, km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) holding every point within km of (lat, lon) by ``haversine_km``.

    The exact box of a spherical cap, with a 0.1% margin for rounding. A cap that reaches a pole, or a
    box that would cross the antimeridian, takes every longitude: one query shape, still correct, and rare.
    """
    angle = km * 1.001 / earth_radius_km(lat)  # radians of arc
    dlat = math.degrees(angle)
    min_lat, max_lat = lat - dlat, lat + dlat
    if min_lat <= -90 or max_lat >= 90:
        return max(-90.0, min_lat), min(90.0, max_lat), -180.0, 180.0
    ratio = math.sin(angle) / math.cos(math.radians(lat))
    dlon = 180.0 if ratio >= 1 else math.degrees(math.asin(ratio))
    if lon - dlon < -180 or lon + dlon > 180:
        return min_lat, max_lat, -180.0, 180.0
    return min_lat, max_lat, lon - dlon, lon + dlon


#: What a search result carries: the public card fields, not the whole row (no keys, no counters).
CARD_COLUMNS = (Rally.id, Rally.slug, Rally.title, Rally.starts_at, Rally.timezone, Rally.venue_name,
                Rally.city, Rally.state, Rally.lat, Rally.lon)


@dataclass(frozen=True)
class Nearby:
    """A rally (a row of CARD_COLUMNS, read like a Rally) and its distance from the search point."""

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


def rallies_near(lat: float, lon: float, km: float, *, limit: int = 20, offset: int = 0, now=None,
                 campaign_id: int | None = None) -> NearResults:
    """Upcoming listed rallies within km of (lat, lon): nearest first, ties by start time, then id.

    ``campaign_id`` keeps one campaign's rallies only (the "sorry we missed you" email).

    Two statements, the same on both engines: the bounding box on ix_rally_lat_lon returns each
    candidate's position and start, ranked here by haversine_km (SQLite has no trigonometry); then the
    cards of the page alone are read by id, so a dense city's hundreds of candidates carry four columns.
    """
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, km)
    query = db.select(Rally.id, Rally.lat, Rally.lon, Rally.starts_at).where(
        Rally.lat.between(min_lat, max_lat), Rally.lon.between(min_lon, max_lon),
        Rally.visibility == VISIBILITY_LISTED, Rally.status == STATUS_SCHEDULED, Rally.ends_at > (now or utcnow()),
    )
    if campaign_id is not None:
        query = query.where(Rally.campaign_id == campaign_id)
    candidates = db.session.execute(query)
    radius = earth_radius_km(lat)
    ranked = sorted((d, starts_at, rid) for rid, rlat, rlon, starts_at in candidates
                    if (d := haversine_km(lat, lon, rlat, rlon, radius)) <= km)
    page = ranked[offset:offset + limit]
    if not page:
        return NearResults([], len(ranked), offset)
    cards = {r.id: r for r in db.session.execute(db.select(*CARD_COLUMNS).where(Rally.id.in_([p[2] for p in page])))}
    return NearResults([Nearby(cards[rid], d) for d, _, rid in page if rid in cards], len(ranked), offset)
