"""Demo check-ins: past demo rallies get people arriving over time through several doors.

Deterministic (seeded per rally), offline and idempotent: a rally that already has check-ins
is left alone. Rows are bulk-inserted, then rallies/counters.py recounts the Rally, Door and
ArrivalMinute counters from them, so the numbers agree exactly as the live service keeps them.
Most people leave around the end (exit scans, a few step out and come back), so the dashboard's
occupancy curve rises, holds and falls. Also prints a supervisor door link for the next upcoming demo rally.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ..database import atomic
from ..door import doors as door_service
from ..extensions import db
from ..keys.link_secrets import new_page_token
from ..models import Checkin, Door, Rally, Rsvp, ScanLog, utcnow
from ..rallies import counters
from ..rsvp.names import door_name, search_text

DOOR_NAMES = ["North gate", "South gate", "East gate", "Accessible entrance"]
WALKIN_FIRST = ["Alex", "Jordan", "Casey", "Riley", "Morgan", "Taylor", "Jamie", "Avery", "Quinn", "Rosa", "Luis"]
WALKIN_LAST = ["Walker", "Reyes", "Brooks", "Kim", "Diaz", "Nguyen", "Foster", "Price", "Okoro", "Silva"]


def load() -> Iterator[str]:
    """Give past demo rallies their check-ins; print a door link for an upcoming one."""
    from .accounts import demo_campaign

    campaign = demo_campaign()
    if campaign is None:
        return
    now = utcnow()
    rallies = list(db.session.scalars(
        sa.select(Rally).where(Rally.campaign_id == campaign.id).order_by(Rally.starts_at, Rally.id)))
    done = 0
    for rally in rallies:
        past = rally.ends_at < now and not rally.is_cancelled and not _has_checkins(rally.id)
        if past and _admit_crowd(rally):
            done += 1
    if done:
        yield f"Demo check-ins: {done} past rallies now have arrivals through their doors."
    upcoming = next((r for r in rallies if r.starts_at > now and not r.is_cancelled), None)
    if upcoming is not None:
        yield from _door_link(upcoming)


def _has_checkins(rally_id: int) -> bool:
    return db.session.scalar(sa.select(Checkin.id).where(Checkin.rally_id == rally_id).limit(1)) is not None


def _doors_for(rally: Rally, rng: random.Random) -> list[Door]:
    existing = list(db.session.scalars(sa.select(Door).where(Door.rally_id == rally.id).order_by(Door.id)))
    if existing:
        return existing
    count = 2 if rally.going_people < 1500 else (3 if rally.going_people < 4000 else 4)
    return [door_service.create_door(rally, name, lanes=rng.choice([2, 3, 4])) for name in DOOR_NAMES[:count]]


def _admit_crowd(rally: Rally) -> bool:
    """Arrivals for one past rally (in one transaction). False when it has no RSVPs yet."""
    rng = random.Random(rally.id * 7919 + 17)
    parties = db.session.execute(
        sa.select(Rsvp.id, Rsvp.guests).where(Rsvp.rally_id == rally.id, Rsvp.status == "going").order_by(Rsvp.id)
    ).all()
    if not parties:
        return False  # demo RSVPs not loaded (yet): nothing to admit
    with atomic():
        doors = _doors_for(rally, rng)
        weights = [rng.uniform(0.6, 1.4) for _ in doors]
        weights[-1] *= 0.25 if len(doors) > 2 else 1  # the accessible entrance is quieter
        opens = rally.doors_open_at or rally.starts_at - timedelta(hours=1)
        window = (rally.starts_at - opens).total_seconds()
        show_rate = rng.uniform(0.62, 0.86)
        checkins, scans, rsvp_counts = [], [], []
        seq = 1  # numbers the demo's nonces
        number = counters.next_change_number(rally.id)  # one door-sync change for the whole load
        for rsvp_id, guests in parties:
            if rng.random() > show_rate:
                continue
            party = guests + 1
            # Most arrive in the hour before the start, peaking shortly before it; some come late.
            at = opens + timedelta(seconds=min(window * rng.betavariate(3.2, 1.6), window)) if rng.random() < 0.9 \
                else rally.starts_at + timedelta(minutes=rng.uniform(0, 40))
            door = rng.choices(doors, weights)[0]
            # A few parties arrive in two parts.
            parts = [party] if party == 1 or rng.random() > 0.12 else [1, party - 1]
            for i, people in enumerate(parts):
                moment = at + timedelta(minutes=12 * i)
                nonce = f"demo{rally.id}n{seq}"
                scans.append(dict(rally_id=rally.id, door_id=door.id, device_name=f"{door.name} phone {rng.randint(1, 3)}",
                                  rsvp_id=rsvp_id, nonce=nonce, code="(demo)", verdict="admit", reason="ok",
                                  people=people, client_time=moment, received_at=moment, response=""))
                checkins.append(dict(rally_id=rally.id, rsvp_id=rsvp_id, door_id=door.id, people=people, is_walkin=False,
                                     admitted_at=moment, device_name=scans[-1]["device_name"], changed_seq=number,
                                     undo_reason="", direction="entry", reentry=False))
                seq += 1
            outside = _leaving(rally, rng, rsvp_id, party, door, at + timedelta(minutes=12 * (len(parts) - 1)), number,
                               checkins, scans, seq)
            seq += 4
            rsvp_counts.append({"rid": rsvp_id, "n": party, "out": outside})
            if rng.random() < 0.015:  # someone shows the same ticket twice
                scans.append(dict(scans[-1], nonce=f"demo{rally.id}n{seq}", verdict="already",
                                  reason="already_checked_in", people=0, client_time=at + timedelta(minutes=3),
                                  received_at=at + timedelta(minutes=3)))
                seq += 1
        walkins = _walkins(rally, rng, doors, weights, opens, window, len(rsvp_counts))
        for w in walkins:
            checkins.append(dict(rally_id=rally.id, rsvp_id=w["rsvp_id"], door_id=w["door_id"], people=w["people"],
                                 is_walkin=True, admitted_at=w["at"], device_name=w["device"], changed_seq=number,
                                 undo_reason="", direction="entry", reentry=False))
            seq += 1
        if scans:
            db.session.execute(ScanLog.__table__.insert(), scans)
        if checkins:
            db.session.execute(Checkin.__table__.insert(), checkins)
        if rsvp_counts:
            rsvp_t = Rsvp.__table__
            db.session.execute(rsvp_t.update().where(rsvp_t.c.id == sa.bindparam("rid"))
                               .values(checked_in_people=sa.bindparam("n"), outside_people=sa.bindparam("out")),
                               rsvp_counts)
        counters.recount(rally.id)  # walk-in RSVPs hold places, as live walk-ins do
        counters.recount_checkins(rally.id)
    return True


def _leaving(rally, rng, rsvp_id, party, door, arrived, number, checkins, scans, seq) -> int:
    """Exits (and a few re-entries) of one party, for a realistic occupancy curve; the people left outside.

    Most leave around the end; about one in ten steps out during the rally, and half of those come back.
    """
    def move(direction, at, reentry=False):
        nonce = f"demo{rally.id}x{seq}{direction[0]}{len(checkins)}"
        device = f"{door.name} phone 1"
        scans.append(dict(rally_id=rally.id, door_id=door.id, device_name=device, rsvp_id=rsvp_id, nonce=nonce,
                          code="(demo)", verdict="exit" if direction == "exit" else "admit",
                          reason="reentry" if reentry else "ok", people=party, client_time=at, received_at=at,
                          response=""))
        checkins.append(dict(rally_id=rally.id, rsvp_id=rsvp_id, door_id=door.id, people=party, is_walkin=False,
                             admitted_at=at, device_name=device, changed_seq=number, undo_reason="",
                             direction=direction, reentry=reentry))

    outside = 0
    if rng.random() < 0.1:
        out_at = arrived + timedelta(minutes=rng.uniform(10, 50))
        if out_at < rally.ends_at:
            move("exit", out_at)
            outside = party
            if rng.random() < 0.5:
                move("entry", out_at + timedelta(minutes=rng.uniform(5, 25)), reentry=True)
                outside = 0
    if outside == 0 and rng.random() < 0.85:
        move("exit", max(arrived + timedelta(minutes=5), rally.ends_at + timedelta(minutes=rng.uniform(-25, 20))))
        outside = party
    return outside


def _walkins(rally, rng, doors, weights, opens, window, attending) -> list[dict]:
    """Walk-in RSVPs (created here, admitted at once): a few percent of the crowd."""
    count = int(attending * rng.uniform(0.03, 0.08))
    out = []
    rows = []
    for i in range(count):
        name = f"{rng.choice(WALKIN_FIRST)} {rng.choice(WALKIN_LAST)}"
        guests = 0 if rng.random() < 0.7 else rng.randint(1, 2)
        at = opens + timedelta(seconds=window * rng.betavariate(3.5, 1.3) + rng.uniform(0, 1800))
        rows.append(dict(rally_id=rally.id, **new_page_token().columns(), name=name, email=None, phone="",
                         postal_code=rally.postal_code, door_name=door_name(name), search_name=search_text(name),
                         guests=guests, status="going", is_walkin=True, checked_in_people=guests + 1, status_at=at,
                         created_at=at, updated_at=at, changed_seq=0, ref=f"demo-walkin-{i}"))
        door = rng.choices(doors, weights)[0]
        out.append({"door_id": door.id, "people": guests + 1, "at": at, "device": f"{door.name} phone 1"})
    if rows:
        db.session.execute(Rsvp.__table__.insert(), rows)
        ids = list(db.session.scalars(sa.select(Rsvp.id).where(Rsvp.rally_id == rally.id, Rsvp.ref.like("demo-walkin-%"))
                                      .order_by(Rsvp.id)))
        for item, rsvp_id in zip(out, ids, strict=False):
            item["rsvp_id"] = rsvp_id
    return out


def _door_link(rally: Rally) -> Iterator[str]:
    """A fresh supervisor link at the rally's first door (secrets are never stored, so a new one each run)."""
    door = db.session.scalar(sa.select(Door).where(Door.rally_id == rally.id).order_by(Door.id))
    if door is None:
        door = door_service.create_door(rally, "Main entrance", lanes=3)
    expires = max(rally.ends_at + timedelta(hours=6), utcnow() + timedelta(days=1))
    _link, secret = door_service.create_link(door, "supervisor", expires, "demo")
    base = current_app.config["BASE_URL"].rstrip("/")
    yield f"Door link for “{rally.title}” ({door.name}, supervisor): {base}/door/l/{secret}"
