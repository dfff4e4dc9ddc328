"""Demo rallies: about 40 in real US cities from the gazetteer, past and upcoming, deterministic and offline.

Dates are relative to today (so there is always something upcoming), but which rallies
exist, where and at what local hour comes from a fixed seed. A rally is identified by its
title within the demo campaign, so running the demo again creates nothing twice.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..extensions import db
from ..geo import gazetteer
from ..models import Rally
from ..rallies.lifecycle import RallyDetails, cancel_rally, create_rally
from .accounts import demo_campaign

SEED = 20260
#: (city, state, number of rallies): big cities get several. New York and Chicago have four:
#: three held ones before an upcoming one, so forecasts there learn from the same city.
CITIES = [
    ("New York", "NY", 4), ("Los Angeles", "CA", 3), ("Chicago", "IL", 4), ("Houston", "TX", 2),
    ("Phoenix", "AZ", 2), ("Philadelphia", "PA", 2), ("San Antonio", "TX", 1), ("San Diego", "CA", 1),
    ("Dallas", "TX", 2), ("Austin", "TX", 2), ("Denver", "CO", 2), ("Seattle", "WA", 2), ("Atlanta", "GA", 2),
    ("Miami", "FL", 1), ("Detroit", "MI", 1), ("Minneapolis", "MN", 1), ("Milwaukee", "WI", 1),
    ("Pittsburgh", "PA", 1), ("Las Vegas", "NV", 1), ("Portland", "OR", 1), ("Charlotte", "NC", 1),
    ("Columbus", "OH", 1), ("Boston", "MA", 1), ("Nashville", "TN", 1), ("Albuquerque", "NM", 1),
    ("Honolulu", "HI", 1),
]
SERIES = 4
THEMES = ["Rally for Good Jobs", "Town Hall", "Climate Action Rally", "Healthcare for All Rally",
          "Get Out the Vote Rally", "Students for Change Rally", "Union Solidarity Rally", "Fair Wages Rally",
          "Neighborhood Kickoff", "Election Eve Rally"]
VENUES = [("City Hall Plaza", "100 Main St"), ("Convention Center, Hall B", "500 Convention Way"),
          ("Riverside Park Amphitheater", "1 Riverside Dr"), ("Union Hall", "250 Labor Ave"),
          ("Memorial Auditorium", "300 Memorial Blvd"), ("Civic Center Arena", "400 Civic Center Pl"),
          ("Fairgrounds Pavilion", "1200 Fairground Rd"), ("Central Library Plaza", "800 Library Sq"),
          ("Community College Quad", "2100 College Ave"), ("Waterfront Park", "50 Harbor St")]
ACCESS = ["Step-free entrance on the north side; ASL interpretation on stage; accessible seating near the front.",
          "Ramp at the east gate. Quiet area by the info tent. Service animals welcome.",
          ""]


def _zip_for(city: str, state: str, n: int) -> str:
    """A real ZIP in the city, different for each rally there (so pins do not stack)."""
    import zipcodes

    zips = sorted(z["zip_code"] for z in zipcodes.filter_by(city=city, state=state)
                  if z["zip_code_type"] == "STANDARD" and z["lat"])
    return zips[(n * 7) % len(zips)] if zips else ""


def plan(today: date) -> list[dict]:
    """The demo rallies, as rows of RallyDetails fields plus "cancel" (a message or None)."""
    rng = random.Random(SEED)
    rows, count = [], 0
    for city, state, how_many in CITIES:
        place = gazetteer.find_city(city, state)
        tz = ZoneInfo(place.timezone)
        for n in range(how_many):
            count += 1
            theme = THEMES[(count + n * 3) % len(THEMES)]
            venue, street = VENUES[rng.randrange(len(VENUES))]
            # One in three is in the past (for turnout comparisons); the rest spread over the next two months.
            if how_many >= SERIES:
                days = -rng.randint(7, 120) if n < SERIES - 1 else rng.randint(1, 60)
            else:
                days = -rng.randint(3, 90) if count % 3 == 0 else rng.randint(1, 60)
            hour = rng.choice([10, 11, 12, 16, 17, 18, 19])
            starts = datetime.combine(today + timedelta(days=days), time(hour, rng.choice([0, 0, 30])))
            capacity = rng.randrange(1000, 30001, 500)
            visibility = "unlisted" if count in (7, 19) else ("draft" if count == 23 else "listed")
            rows.append(dict(
                title=f"{city} {theme}" if n == 0 else f"{city} {theme} ({['', 'Downtown', 'Eastside', 'Westside'][n]})",
                description=(f"Join neighbors across {city} for a {theme.lower()}. Bring water, a sign and a "
                             "friend.\n\nVolunteer sign-up and updates: https://example.org/volunteer"),
                starts_local=starts, ends_local=starts + timedelta(hours=rng.choice([2, 2, 3])),
                doors_local=starts - timedelta(minutes=rng.choice([60, 90, 120])), timezone=tz.key,
                venue_name=venue, address=street, city=city, state=state,
                postal_code=_zip_for(city, state, n), country="US", capacity=capacity,
                max_guests=rng.choice([0, 1, 2, 2, 3, 4]), accessibility_notes=rng.choice(ACCESS),
                visibility=visibility,
                cancel="Cancelled because of a severe weather warning. Stay safe; we'll announce a new date."
                if count == 13 else None,  # an upcoming one in Houston
            ))
    return rows


def load() -> Iterator[str]:
    """Create the demo rallies that do not exist yet (matched by title in the demo campaign)."""
    campaign = demo_campaign()
    if campaign is None:
        return
    existing = set(db.session.scalars(db.select(Rally.title).where(Rally.campaign_id == campaign.id)))
    made = 0
    rows = plan(datetime.now(UTC).date())
    for row in rows:
        if row["title"] in existing:
            continue
        cancel = row.pop("cancel")
        rally = create_rally(campaign.id, RallyDetails.from_mapping(row), offline=True)
        if cancel:
            cancel_rally(rally, cancel)
        made += 1
    yield f"Demo rallies: {made} created, {len(rows) - made} already there ({len(rows)} in the demo campaign)."
