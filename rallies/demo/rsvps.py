"""Demo RSVPs: realistic, deterministic (seeded per rally), offline, bulk-inserted and idempotent.

Each demo rally without RSVPs gets a crowd sized to it (thousands for the big ones), drawn
from one pool of people per campaign (so supporters recur across rallies), with ZIP codes
of real places near the venue (``zipcodes`` package, weighted towards the closest) and phone
numbers in the area's own area codes on the fictional 555-01xx range. Parties fill the
capacity in arrival order, the rest are waitlisted, a few cancel; counters are recomputed
from the rows, exactly as the RSVP service keeps them.
"""

from __future__ import annotations

import base64
import math
import random
from collections.abc import Iterator
from datetime import timedelta

import sqlalchemy as sa

from ..database import atomic
from ..extensions import db
from ..keys.link_secrets import seal_page_token
from ..mail.addresses import canonical_email, normalise_email
from ..models import RSVP_CANCELLED, RSVP_GOING, RSVP_WAITLISTED, Rally, Rsvp, Supporter, utcnow
from ..rallies.counters import next_change_number, recount
from ..rsvp.names import door_name, fold, search_text
from ..rsvp.tickets import ensure_rally_keys

FIRST = ["Ana", "José", "María", "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
         "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
         "Wei", "Mei", "Hiroshi", "Yuki", "Aisha", "Mohammed", "Fatima", "Omar", "Priya", "Arjun", "Chloé",
         "Zoë", "Björn", "Siobhán", "Nguyễn", "Thanh", "Kwame", "Amara", "Diego", "Lucía", "Sofía", "Mateo",
         "Olga", "Dmitri", "Leila", "Tomás", "Grace", "Noah", "Emma", "Liam", "Olivia", "Ava", "Ethan", "Maya"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "García", "Miller", "Davis", "Rodríguez", "Martínez",
        "Hernández", "López", "González", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
        "Lee", "Pérez", "Thompson", "White", "Harris", "Sánchez", "Clark", "Ramírez", "Lewis", "Robinson",
        "Nguyen", "Kim", "Patel", "Chen", "Wang", "O'Brien", "Müller", "Kowalski", "Okafor", "Mensah",
        "Ibrahim", "Haddad", "Novák", "Fernández", "Suzuki", "Tanaka", "Cohen", "Rossi", "Dubois", "Øberg"]
SOURCES = [("", "", ""), ("", "", ""), ("facebook", "social", "fall-tour"), ("email", "newsletter", "fall-tour"),
           ("sms", "text", "gotv"), ("instagram", "social", "fall-tour")]
REFS = ["", "", "", "", "maria", "field-team", "students", "union-local-12"]
POOL_SIZE = 30000
MAX_PER_RALLY = 6000


def _zips_near(rally: Rally, rng: random.Random, cache: dict) -> list[tuple[str, list[str], float]]:
    """(zip, area codes, weight) for standard ZIPs within ~60 km of the venue, closer ones weighted more."""
    if rally.country != "US" or rally.lat is None or rally.lon is None:
        return []
    if "all" not in cache:
        import zipcodes

        cache["all"] = [z for z in zipcodes.list_all() if z["zip_code_type"] == "STANDARD" and z["lat"]]
    out = []
    for z in cache["all"]:
        lat, lon = float(z["lat"]), float(z["long"])
        if abs(lat - rally.lat) > 0.6 or abs(lon - rally.lon) > 0.8:
            continue
        km = 111 * math.hypot(lat - rally.lat, (lon - rally.lon) * math.cos(math.radians(rally.lat)))
        if km <= 60:
            out.append((z["zip_code"], z.get("area_codes") or [], 1 / (1 + km / 5) ** 2))
    return out


def _people(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """A campaign's pool of (name, email), deterministic."""
    people, seen = [], set()
    while len(people) < n:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        base = fold(f"{first}.{last}").replace(" ", "").replace("'", "")
        base = "".join(c for c in base if c.isascii() and (c.isalnum() or c == ".")) or "person"
        email = normalise_email(f"{base}{rng.randint(1, 9999)}@example.org")
        if email in seen:
            continue
        seen.add(email)
        people.append((f"{first} {last}", email))
    return people


def _crowd_size(rally: Rally, rng: random.Random) -> int:
    if rally.capacity:
        return min(MAX_PER_RALLY, int(rally.capacity * rng.uniform(0.5, 0.8)))
    return rng.choice([120, 350, 800, 1500, 2500, 4000])


def _token(rng: random.Random) -> str:
    return base64.urlsafe_b64encode(rng.getrandbits(256).to_bytes(32, "big")).decode().rstrip("=")


def load() -> Iterator[str]:
    """Create RSVPs for every demo rally that has none yet."""
    from .accounts import demo_campaign

    campaign = demo_campaign()
    if campaign is None:
        yield "RSVPs: no demo campaign; skipped."
        return
    rallies = db.session.scalars(sa.select(Rally).where(Rally.campaign_id == campaign.id).order_by(Rally.id)).all()
    if not rallies:
        yield "RSVPs: no demo rallies yet; skipped."
        return
    pool = _people(random.Random(f"demo-people-{campaign.id}"), POOL_SIZE)
    zip_cache: dict = {}
    total = 0
    for rally in rallies:
        has_any = db.session.scalar(sa.select(sa.func.count()).select_from(Rsvp).where(Rsvp.rally_id == rally.id))
        if has_any:
            continue
        rng = random.Random(f"demo-rsvps-{rally.slug}")
        count = _crowd_size(rally, rng)
        made = _load_rally(rally, campaign.id, rng, rng.sample(pool, count), _zips_near(rally, rng, zip_cache))
        total += made
        yield f"RSVPs: {made} for {rally.title}"
    yield f"RSVPs: {total} created."


def _load_rally(rally: Rally, campaign_id: int, rng: random.Random, people, zips) -> int:
    now = utcnow()
    opened = min(rally.starts_at, now) - timedelta(days=30)
    span = max(60.0, (min(rally.starts_at, now) - opened).total_seconds())
    times = sorted(opened + timedelta(seconds=rng.random() * span) for _ in people)
    weights = [w for _, _, w in zips]
    rows, going_people = [], 0
    for (name, email), created in zip(people, times, strict=True):
        guests = rng.choices(range(rally.max_guests + 1), weights=[6, 3, 1, 1, 1, 1][: rally.max_guests + 1])[0]
        zip_code, area_codes = ("", [])
        if zips and rng.random() < 0.85:
            zip_code, area_codes, _ = rng.choices(zips, weights=weights)[0]
        phone = ""
        if area_codes and rng.random() < 0.6:
            phone = f"+1{rng.choice(area_codes)}555{rng.randint(100, 199):04d}"
        if rng.random() < 0.05:
            status = RSVP_CANCELLED  # changed their mind; holds no place
        elif rally.capacity is None or going_people + guests + 1 <= rally.capacity:
            status = RSVP_GOING
            going_people += guests + 1
        else:
            status = RSVP_WAITLISTED  # arrival order; a smaller party later may still fit
        source, medium, campaign = rng.choice(SOURCES)
        opt_in = rng.random() < 0.4
        rows.append(dict(
            rally_id=rally.id, **seal_page_token(_token(rng)).columns(), name=name, email=email, email_key=canonical_email(email), phone=phone, postal_code=zip_code,
            door_name=door_name(name), search_name=search_text(name), guests=guests, status=status,
            is_walkin=False, checked_in_people=0, opt_in=opt_in, opt_in_at=created if opt_in else None,
            utm_source=source, utm_medium=medium, utm_campaign=campaign, ref=rng.choice(REFS),
            status_at=created, reminder_answer="", changed_seq=0, created_at=created, updated_at=created,
        ))
    with atomic():
        ensure_rally_keys(db.session.get(Rally, rally.id))
        _ensure_supporters(campaign_id, rows)
        ids = dict(db.session.execute(
            sa.select(Supporter.email, Supporter.id).where(Supporter.campaign_id == campaign_id,
                                                           Supporter.email.in_([r["email"] for r in rows]))
        ).all())
        number = next_change_number(rally.id)  # one door-sync change for the whole load
        for r in rows:
            r["supporter_id"] = ids.get(r["email"])
            r["changed_seq"] = number
        for start in range(0, len(rows), 2000):
            db.session.execute(sa.insert(Rsvp.__table__), rows[start:start + 2000])
        recount(rally.id)
    return len(rows)


def _ensure_supporters(campaign_id: int, rows: list[dict]) -> None:
    emails = {r["email"]: r for r in rows}
    existing = set(db.session.scalars(
        sa.select(Supporter.email).where(Supporter.campaign_id == campaign_id, Supporter.email.in_(list(emails)))
    ))
    new = [dict(campaign_id=campaign_id, email=e, name=r["name"], phone=r["phone"], postal_code=r["postal_code"],
                created_at=r["created_at"]) for e, r in emails.items() if e not in existing]
    for start in range(0, len(new), 2000):
        db.session.execute(sa.insert(Supporter.__table__), new[start:start + 2000])
