"""Data for bench_turnout: a campaign's rallies, counters, doors, arrival minutes, RSVPs and check-ins in bulk.

Everything is deterministic (seeded) and consistent: the counters on each rally match the RSVP and
check-in rows generated for it. Rows go in with executemany on SQLite and COPY on PostgreSQL.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

CITIES = [
    ("New York", "NY"), ("Los Angeles", "CA"), ("Chicago", "IL"), ("Houston", "TX"), ("Phoenix", "AZ"),
    ("Philadelphia", "PA"), ("San Antonio", "TX"), ("San Diego", "CA"), ("Dallas", "TX"), ("Austin", "TX"),
    ("Jacksonville", "FL"), ("Columbus", "OH"), ("Charlotte", "NC"), ("Indianapolis", "IN"), ("Seattle", "WA"),
    ("Denver", "CO"), ("Boston", "MA"), ("Nashville", "TN"), ("Detroit", "MI"), ("Portland", "OR"),
    ("Las Vegas", "NV"), ("Memphis", "TN"), ("Louisville", "KY"), ("Baltimore", "MD"), ("Milwaukee", "WI"),
    ("Albuquerque", "NM"), ("Tucson", "AZ"), ("Fresno", "CA"), ("Sacramento", "CA"), ("Atlanta", "GA"),
    ("Omaha", "NE"), ("Raleigh", "NC"), ("Miami", "FL"), ("Minneapolis", "MN"), ("Tulsa", "OK"),
    ("Cleveland", "OH"), ("Wichita", "KS"), ("New Orleans", "LA"), ("Pittsburgh", "PA"), ("Madison", "WI"),
]
NOW = datetime.now(UTC).replace(second=0, microsecond=0)


# --- bulk writing --------------------------------------------------------------------------------


class Writer:
    """Bulk rows into one table: executemany on SQLite, COPY on PostgreSQL; unset columns get their defaults."""

    def __init__(self, model, columns: list[str]):
        from rallies.extensions import db

        self.table = model.__table__
        self.columns = columns
        self.fill = []
        for col in self.table.columns:
            if col.name in columns:
                continue
            default = col.default.arg if col.default is not None else None
            if callable(default):
                default = NOW
            if default is None and not col.nullable and not col.primary_key:
                raise ValueError(f"{self.table.name}.{col.name} needs a value")
            if not col.primary_key:
                self.fill.append((col.name, default))
        self.names = columns + [n for n, _ in self.fill]
        self.extra = tuple(v for _, v in self.fill)
        self.db = db

    def write(self, rows) -> int:
        """Write tuples (in `columns` order); returns the count."""
        conn = self.db.session.connection()
        raw = conn.connection.driver_connection
        cols = ", ".join(f'"{n}"' for n in self.names)
        count = 0
        if conn.dialect.name == "sqlite":
            sql = f'INSERT INTO "{self.table.name}" ({cols}) VALUES ({", ".join("?" * len(self.names))})'
            batch = []
            for row in rows:
                batch.append(tuple(_sqlite(v) for v in row + self.extra))
                if len(batch) >= 50_000:
                    raw.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                raw.executemany(sql, batch)
                count += len(batch)
        else:
            with raw.cursor() as cur, cur.copy(f'COPY "{self.table.name}" ({cols}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row + self.extra)
                    count += 1
        self.db.session.commit()
        return count


def _sqlite(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


# --- data ----------------------------------------------------------------------------------------


def make_campaign(name: str):
    """An owner and a campaign; returns (user, campaign)."""
    from rallies.database import atomic
    from rallies.extensions import db
    from rallies.models import Campaign, Membership, User

    with atomic():
        user = User(email=f"{name.lower().replace(' ', '')}@bench.example", name="Bench", password_hash="x")
        camp = Campaign(name=name)
        db.session.add_all([user, camp])
        db.session.flush()
        db.session.add(Membership(campaign_id=camp.id, user_id=user.id, role="owner"))
    return user, camp


def _places():
    from rallies.geo.gazetteer import _zip_index as zips
    from rallies.geo.gazetteer import find_city, zip5

    by_state: dict[str, list[str]] = {}
    for code, place in zips().items():
        by_state.setdefault(place.state, []).append(code)
    out = []
    for city, state in CITIES:
        p = find_city(city, state)
        near = sorted(by_state.get(state, []), key=lambda z: (zips()[z].lat - p.lat) ** 2 + (zips()[z].lon - p.lon) ** 2)
        out.append((city, state, p.lat, p.lon, p.timezone, [zip5(z) for z in near[:40]]))
    return out


def rally_rows(camp_id: int, n: int, rng: random.Random, start_id: int, upcoming_share: float = 0.1):
    """Rally tuples with counters that match the RSVP/check-in plan; returns (rows, plans)."""
    places = _places()
    rows, plans = [], []
    for i in range(n):
        rid = start_id + i
        city, state, lat, lon, tz, zips = places[i % len(places)]
        upcoming = i >= n * (1 - upcoming_share)
        starts = NOW + timedelta(days=1 + (i % 60)) if upcoming else NOW - timedelta(days=n - i, hours=rng.randint(0, 5))
        rate = min(0.97, max(0.3, rng.gauss(0.76, 0.08)))
        plans.append(dict(id=rid, zips=zips, starts=starts, rate=rate, upcoming=upcoming))
        rows.append([rid, camp_id, f"bench-{camp_id}-{rid}", f"{city} rally #{i + 1}", starts, starts + timedelta(hours=2),
                     starts - timedelta(hours=1), tz, city, state, round(lat + rng.uniform(-0.05, 0.05), 5),
                     round(lon + rng.uniform(-0.05, 0.05), 5), rng.choice([3000, 4000, 5000, None])])
    return rows, plans


RALLY_COLS = ["id", "campaign_id", "slug", "title", "starts_at", "ends_at", "doors_open_at", "timezone", "city", "state",
              "lat", "lon", "capacity"]
RSVP_COLS = ["id", "rally_id", "token_hash", "token_sealed", "name", "email", "postal_code", "door_name", "guests", "status",
             "checked_in_people", "status_at", "created_at", "updated_at"]
CHECKIN_COLS = ["id", "rally_id", "rsvp_id", "door_id", "people", "is_walkin", "admitted_at"]
MINUTE_COLS = ["rally_id", "door_id", "minute", "people", "walkins"]


def rally_plan(p: dict, per_rally: int) -> dict:
    """Every RSVP's status, guests and check-in for one rally; deterministic (seeded by the rally id)."""
    rng = random.Random(p["id"])
    statuses = rng.choices(["going", "waitlisted", "cancelled"], weights=[88, 7, 5], k=per_rally)
    guests = [1 if rng.random() < 0.15 else 0 for _ in range(per_rally)]
    came = [s == "going" and not p["upcoming"] and rng.random() < p["rate"] for s in statuses]
    walkins = 0 if p["upcoming"] else int(per_rally * 0.10)
    admissions = []  # (minute index, door index, people, walk-in) in admission order
    if not p["upcoming"]:
        parties = [(g + 1, False) for g, c in zip(guests, came, strict=True) if c] + [(1, True)] * walkins
        minutes = sorted(min(119, max(0, int(rng.gauss(55, 22)))) for _ in parties)
        admissions = [(m, rng.randrange(2), people, walk) for (people, walk), m in zip(parties, minutes, strict=True)]
    return dict(statuses=statuses, guests=guests, came=came, walkins=walkins, admissions=admissions)


def counters_and_minutes(plans, per_rally: int, door_start: int) -> None:
    """Set each rally's counters and write its two doors and ArrivalMinute rows (from the plan)."""
    from rallies.extensions import db
    from rallies.models import ArrivalMinute, Door, Rally

    door_rows, minute_rows, updates = [], [], []
    for n, p in enumerate(plans):
        plan = rally_plan(p, per_rally)
        p["doors"] = doors = [door_start + 2 * n, door_start + 2 * n + 1]
        opens = p["starts"] - timedelta(hours=1)
        buckets: dict[tuple[int, int], list[int]] = {}
        for m, d, people, walk in plan["admissions"]:
            b = buckets.setdefault((m, d), [0, 0])
            b[0] += people
            b[1] += walk
        totals: dict[int, int] = {}
        for (m, d), (ppl, wk) in buckets.items():
            minute_rows.append((p["id"], doors[d], opens + timedelta(minutes=m), ppl, wk))
            totals[m] = totals.get(m, 0) + ppl
        for k, d in enumerate(doors):
            door_rows.append((d, p["id"], f"Door {'AB'[k]}", 2))
        st, gs, came = plan["statuses"], plan["guests"], plan["came"]
        going = [g for g, s in zip(gs, st, strict=True) if s == "going"]
        waitl = [g for g, s in zip(gs, st, strict=True) if s == "waitlisted"]
        people_in = sum(g + 1 for g, c in zip(gs, came, strict=True) if c)
        updates.append(dict(
            id=p["id"], going_people=sum(going) + len(going), going_parties=len(going), guests_count=sum(going),
            waitlisted_people=sum(waitl) + len(waitl), waitlisted_parties=len(waitl),
            cancelled_parties=st.count("cancelled"), checked_in_people=people_in + plan["walkins"],
            checked_in_rsvp_people=people_in, walkin_people=plan["walkins"], peak_rate_per_min=max(totals.values(), default=0),
        ))
    Writer(Door, ["id", "rally_id", "name", "lanes"]).write(iter(door_rows))
    Writer(ArrivalMinute, MINUTE_COLS).write(iter(minute_rows))
    db.session.execute(db.update(Rally), updates)
    db.session.commit()


def rsvp_tuples(plans, per_rally: int, rsvp_start: int):
    """RSVP rows consistent with the plans (ids are consecutive from rsvp_start, rally by rally)."""
    rid = rsvp_start
    for p in plans:
        plan = rally_plan(p, per_rally)
        for k, (status, g, came) in enumerate(zip(plan["statuses"], plan["guests"], plan["came"], strict=True)):
            # Placeholder token columns: the turnout bench never opens a ticket page.
            yield (rid, p["id"], f"{rid:043x}", b"-", f"Person {rid}", f"p{rid}@bench.example", p["zips"][k % len(p["zips"])],
                   "Person P.", g, status, (g + 1) if came else 0, NOW, NOW, NOW)
            rid += 1


def checkin_tuples(plans, per_rally: int, rsvp_start: int, checkin_start: int):
    """Check-in rows consistent with the plans and the RSVP ids rsvp_tuples gave."""
    cid = checkin_start
    for n, p in enumerate(plans):
        plan = rally_plan(p, per_rally)
        first = rsvp_start + n * per_rally
        ids = iter(first + k for k, c in enumerate(plan["came"]) if c)
        opens = p["starts"] - timedelta(hours=1)
        for m, d, people, walk in plan["admissions"]:
            yield (cid, p["id"], None if walk else next(ids), p["doors"][d], people, walk, opens + timedelta(minutes=m))
            cid += 1
