"""One way to make each thing the tests need: users, campaigns, rallies, doors, RSVPs, tickets, turnout.

Plain functions on the pushed app context's ``db.session``; each commits what it makes. conftest's
``make_user`` and ``make_rally`` fixtures hand out the functions of the same names.

RSVPs are made two ways, each for its own purpose:

- ``make_rsvp`` goes through the real service (``create_or_update_rsvp``), as a supporter's RSVP
  does: places, waitlist, counters, supporter and ticket email are the ones production makes.
- ``insert_rsvps`` writes the rows straight, in one statement, and leaves every counter alone: for
  big fixtures, and for states a test sets itself (a status, people already inside, a rally that is
  over). ``make_ticket`` and ``bulk_tickets`` are such rows with their signed door codes.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from rallies.auth import teams
from rallies.auth.accounts import create_user
from rallies.database import atomic
from rallies.door import doors
from rallies.door.checkin import check_in
from rallies.extensions import db
from rallies.keys.link_secrets import new_page_token
from rallies.messaging.compose import Draft, create_message
from rallies.models import (
    ArrivalMinute,
    Campaign,
    Checkin,
    Door,
    DoorLink,
    Invite,
    Membership,
    Rally,
    Rsvp,
    Supporter,
    User,
    utcnow,
)
from rallies.rsvp.names import door_name, search_text
from rallies.rsvp.rsvps import RsvpInput, RsvpResult, create_or_update_rsvp
from rallies.rsvp.supporters import supporter_for
from rallies.rsvp.tickets import ensure_rally_keys, ticket_code

PASSWORD = "correct horse battery"
#: When a held rally's arrivals happened (turnout fixtures count minutes from here).
PAST = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)

_serial = itertools.count(1)


# --- users and campaigns ------------------------------------------------------------------------------


def make_campaign(name: str = "Test campaign") -> Campaign:
    with atomic():
        campaign = Campaign(name=name)
        db.session.add(campaign)
    return campaign


def make_user(email: str | None = None, password: str = PASSWORD, name: str = "Org",
              campaign: str | Campaign | None = "Test campaign", role: str = "owner", verified: bool = True) -> User:
    """An organizer account (through the accounts service), with a ``role`` in ``campaign``.

    campaign: a name makes a new campaign, a Campaign joins that one, None joins none.
    """
    if isinstance(campaign, str):
        campaign = make_campaign(campaign)
    with atomic():
        user = create_user(email or f"org{next(_serial)}@example.org", password, name=name)
        if verified:
            user.email_verified_at = user.created_at or utcnow()
        if campaign is not None:
            db.session.add(Membership(campaign_id=campaign.id, user_id=user.id, role=role))
    return user


def campaign_of(user: User) -> Campaign:
    """The first campaign the user joined."""
    return db.session.scalar(
        sa.select(Membership).where(Membership.user_id == user.id).order_by(Membership.id)
    ).campaign


# --- rallies ------------------------------------------------------------------------------------------


def make_rally(campaign: Campaign, **fields) -> Rally:
    """A listed rally in Chicago a week from now, geocoded and with its ticket keys; ``fields`` override."""
    n = next(_serial)
    start = fields.pop("starts_at", utcnow() + timedelta(days=7))
    values = dict(
        title=f"Rally {n}", slug=f"rally-{n}", starts_at=start, ends_at=start + timedelta(hours=2),
        doors_open_at=start - timedelta(hours=1), timezone="America/Chicago", venue_name="Union Park",
        address="1501 W Randolph St", city="Chicago", state="IL", postal_code="60607", country="US",
        lat=41.8847, lon=-87.6658, geo_precision="street", capacity=None, max_guests=3,
        visibility="listed", status="scheduled",
    )
    values.update(fields)
    with atomic():
        rally = Rally(campaign_id=campaign.id, **values)
        db.session.add(rally)
        db.session.flush()
        ensure_rally_keys(rally)
    return rally


def live_rally(campaign: Campaign, **fields) -> Rally:
    """A rally whose doors are open now (doors opened 30 minutes ago; it starts in 30 and ends in 2.5 hours)."""
    fields.setdefault("starts_at", utcnow() + timedelta(minutes=30))
    return make_rally(campaign, **fields)


def held_rally(campaign: Campaign, *, going: int, rsvp_in: int, walkins: int = 0, days_ago: int = 30,
               starts_at: datetime | None = None, **fields) -> Rally:
    """A rally that already happened, its counters set to figures worked out on paper (no RSVP rows).

    ``going`` people had RSVPed; walk-in parties hold places too, so going_people counts them.
    """
    start = starts_at or utcnow() - timedelta(days=days_ago)
    parties = max(1, going // 2) if going else 0
    return make_rally(campaign, starts_at=start, going_people=going + walkins, going_parties=parties,
                      guests_count=going - parties, checked_in_rsvp_people=rsvp_in, walkin_people=walkins,
                      checked_in_people=rsvp_in + walkins, **fields)


# --- doors --------------------------------------------------------------------------------------------


def make_door(rally: Rally, name: str = "North gate", lanes: int = 1) -> Door:
    """A door (through the doors service); its totals come from its arrival minutes (``arrival_minutes``)."""
    with atomic():
        door = doors.create_door(rally, name, lanes)
    return door


def door_link(door: Door, role: str = "scanner", hours: int = 4) -> tuple[DoorLink, str]:
    """A door link (through the doors service) and the secret in its URL (/door/l/<secret>)."""
    with atomic():
        return doors.create_link(door, role, utcnow() + timedelta(hours=hours))


def door_session(door: Door, role: str = "scanner", device: str = "Phone 1", hours: int = 4
                 ) -> tuple[doors.DoorContext, str, int]:
    """(DoorContext, session secret, link id) of a device that opened a fresh door link."""
    link, link_secret = door_link(door, role, hours)
    with atomic():
        _session, secret = doors.open_link(link_secret, device)
    return doors.authenticate(secret, door.id), secret, link.id


def nonce() -> str:
    """A fresh scan nonce, as a door device makes one per request."""
    return uuid.uuid4().hex


@dataclass
class AtDoor:
    """A live rally with one door, a scanner and a supervisor device."""

    rally: Rally
    door: Door
    scanner: doors.DoorContext
    supervisor: doors.DoorContext


def at_door(campaign: Campaign, **fields) -> AtDoor:
    """A rally whose doors are open now, with a door ("North gate"), a scanner and a supervisor."""
    rally = live_rally(campaign, **fields)
    door = make_door(rally)
    scanner, _secret, _link = door_session(door, device="Phone 1")
    supervisor, _secret, _link = door_session(door, role="supervisor", device="Phone 2")
    return AtDoor(rally, door, scanner, supervisor)


# --- RSVPs and tickets --------------------------------------------------------------------------------


def make_rsvp(rally: Rally, name: str = "Ana López", email: str | None = None, guests: int = 0, **fields) -> RsvpResult:
    """A supporter's RSVP through the RSVP service; ``fields`` are the rest of RsvpInput (phone, postal_code ...)."""
    email = email or f"{uuid.uuid4().hex[:10]}@example.org"
    return create_or_update_rsvp(rally, RsvpInput(name=name, email=email, guests=guests, **fields))


def insert_rsvps(rally: Rally, rows: int | list[dict] = 1, **fields) -> list[int]:
    """RSVP rows written straight in one statement, counters untouched; their ids, in order.

    ``rows``: how many going single tickets ("Person <i>"), or one dict of columns per row;
    ``fields`` apply to every row. Names give the door name and search text the service would.
    """
    if isinstance(rows, int):
        rows = [{"name": f"Person {i}"} for i in range(rows)]
    now = utcnow()
    values = []
    for row in rows:
        v = {"name": "Ana María López", "guests": 0, "status": "going", **fields, **row}
        v.setdefault("email", f"{uuid.uuid4().hex[:10]}@example.org")
        values.append({"rally_id": rally.id, **new_page_token().columns(), "door_name": door_name(v["name"]),
                       "search_name": search_text(v["name"]), "created_at": now, "updated_at": now,
                       "status_at": now, **v})
    rsvp_t = Rsvp.__table__
    with atomic():
        before = db.session.scalar(sa.select(sa.func.max(rsvp_t.c.id))) or 0
        # A plain executemany (RETURNING would make psycopg parse one huge statement per 1,000 rows);
        # the rows are numbered in the order given, after every older one.
        db.session.execute(rsvp_t.insert(), values)
        return list(db.session.scalars(sa.select(rsvp_t.c.id).where(rsvp_t.c.id > before).order_by(rsvp_t.c.id)))


def make_ticket(rally: Rally, name: str = "Ana María López", guests: int = 0, status: str = "going",
                email: str | None = None, **fields) -> tuple[Rsvp, str]:
    """One RSVP row in the given state (``insert_rsvps``) and its signed door code."""
    [rsvp_id] = insert_rsvps(rally, [dict(name=name, guests=guests, status=status, **fields)],
                             **({"email": email} if email else {}))
    return db.session.get(Rsvp, rsvp_id), ticket_code(rally, rsvp_id)


def bulk_tickets(rally: Rally, n: int) -> list[tuple[int, str]]:
    """n going single tickets (``insert_rsvps``): [(id, door code)]."""
    return [(i, ticket_code(rally, i)) for i in insert_rsvps(rally, n)]


# --- turnout rows -------------------------------------------------------------------------------------


def arrival_minutes(rally: Rally, door: Door | None, base: datetime, counts: dict[int, int],
                    walkins: dict[int, int] | None = None) -> None:
    """ArrivalMinute rows, {minutes after base: people} ({...: walk-ins among them}), as check-ins would leave them."""
    walkins = walkins or {}
    with atomic():
        db.session.add_all(ArrivalMinute(rally_id=rally.id, door_id=door.id if door else None,
                                         minute=base + timedelta(minutes=offset), people=people,
                                         walkins=walkins.get(offset, 0))
                           for offset, people in counts.items())


def checkin_row(rally: Rally, door: Door | None, rsvp: Rsvp | None, people: int, at: datetime,
                walkin: bool = False) -> Checkin:
    """One check-in row (no counter moves)."""
    with atomic():
        checkin = Checkin(rally_id=rally.id, door_id=door.id if door else None, rsvp_id=rsvp.id if rsvp else None,
                          people=people, is_walkin=walkin, admitted_at=at, device_name="Phone 1")
        db.session.add(checkin)
    return checkin


# --- the audit's world --------------------------------------------------------------------------------

#: HTML to escape, and a template expression that must never be evaluated (folium compiles popups as Jinja).
XSS_TITLE = "<script>alert(1)</script>\"'&{{\"SSTI\"~\"probe\"}}"
XSS_NAME = "Zed <img src=x onerror=alert(2)> Quux"
FORMULA_TITLE = "@SUM(1+1)*cmd|' /C calc'!A0"
FORMULA_NAME = '=HYPERLINK("http://evil.example/x","click")'

#: Supporters who RSVP; none of these strings may ever appear on a public page.
PEOPLE = [
    dict(name="Philippa Quaintance-Roe", email="philippa.quaintance@example.org", phone="+1 312 555 0147",
         postal_code="60614"),
    dict(name="Bartholomew Ngata-Ellery", email="bart.ngata@example.net", phone="(773) 555-0199",
         postal_code="60622"),
    dict(name=XSS_NAME, email="zed.quux@example.com", phone="", postal_code="60607"),
    dict(name=FORMULA_NAME, email="formula@example.com", phone="", postal_code="60601"),
]


@dataclass
class World:
    """Ids and secrets of the objects the route crawlers (tests/web.py) plug into URLs."""

    owner_a: User
    owner_b: User
    ids_a: dict
    ids_b: dict
    slug_b: str
    xss_slug: str
    tokens: list[str] = field(default_factory=list)
    door_link_secret: str = ""
    door_session_secret: str = ""
    api_token: str = ""
    invite_secret: str = ""


def audit_world() -> World:
    """Two campaigns, A and B, with an owner each and everything the routes show.

    B has a viewer, an invite, rallies (one titled with HTML, a past one with a real check-in), the
    PEOPLE's RSVPs (through the service, so supporters, tickets and counters are real), a door with
    a link, a door session and an API token. A has a rally with a door, an RSVP, a supporter and a
    second member, so each of B's ids has a foreign twin.
    """
    owner_a = make_user(email="owner-a@example.org", campaign="Campaign A")
    owner_b = make_user(email="owner-b@example.org", campaign="Campaign B")
    camp_a, camp_b = campaign_of(owner_a), campaign_of(owner_b)
    viewer_b = make_user(email="viewer-b@example.org", campaign=camp_b, role="viewer")
    rally_a = make_rally(camp_a, title="A's rally", slug="a-rally")
    rally_b = make_rally(camp_b, title="B's rally", slug="b-rally")
    xss = make_rally(camp_b, title=XSS_TITLE, slug="xss-rally", venue_name=XSS_TITLE, description=XSS_TITLE)
    past_b = make_rally(camp_b, title=FORMULA_TITLE, slug="b-past", starts_at=utcnow() - timedelta(days=20))

    tokens = [make_rsvp(rally, guests=1, **person).token for rally in (rally_b, xss) for person in PEOPLE]
    with atomic():
        door = doors.create_door(rally_b, "North gate")
        link, link_secret = doors.create_link(door, "scanner", utcnow() + timedelta(hours=4))
        session, session_secret = doors.open_link(link_secret, "Phone 1")
        _tok, api_token = doors.create_api_token(door, "supervisor", "Turnstile", owner_b.id)
        invite, invite_secret = teams.create_invite(camp_b.id, "viewer", owner_b, max_age_days=7)
        door_a = doors.create_door(rally_a, "Main")
        link_a, _ = doors.create_link(door_a, "scanner", utcnow() + timedelta(hours=4))
        session_a, _ = doors.organizer_session(owner_a.id, door_a, "A phone")
        invite_a, _ = teams.create_invite(camp_a.id, "viewer", owner_a, max_age_days=7)
    _checked_in_at_past_rally(past_b, owner_b)

    def first(model, *where):
        return db.session.scalar(sa.select(model.id).where(*where).order_by(model.id))

    message_b = _campaign_message(rally_b, owner_b)
    shift_b = make_shift(rally_b, door)
    for person in PEOPLE[2:]:
        volunteer(shift_b, name=person["name"], email=person["email"])
    ids_b = dict(campaign_id=camp_b.id, rally_id=rally_b.id, door_id=door.id, link_id=link.id, message_id=message_b,
                 shift_id=shift_b.id,
                 session_id=session.id, invite_id=invite.id, membership_id=first(Membership, Membership.user_id == viewer_b.id),
                 rsvp_id=first(Rsvp, Rsvp.rally_id == rally_b.id),
                 supporter_id=first(Supporter, Supporter.campaign_id == camp_b.id))
    assert all(ids_b.values()), ids_b
    owner_a_membership = first(Membership, Membership.user_id == owner_a.id)
    make_user(email="viewer-a@example.org", campaign=camp_a, role="viewer")
    with atomic():
        supporter_a = supporter_for(camp_a.id, "supporter-a@example.org", name="Sam A")
    ids_a = dict(campaign_id=camp_a.id, rally_id=rally_a.id, door_id=door_a.id, link_id=link_a.id,
                 session_id=session_a.id, invite_id=invite_a.id,
                 membership_id=first(Membership, Membership.campaign_id == camp_a.id, Membership.id != owner_a_membership),
                 rsvp_id=make_ticket(rally_a, name="Alma Alpha", email="alma@example.org")[0].id,
                 supporter_id=supporter_a, message_id=_campaign_message(rally_a, owner_a),
                 shift_id=make_shift(rally_a, door_a).id)
    assert db.session.get(Invite, invite.id) is not None
    return World(owner_a=owner_a, owner_b=owner_b, ids_a=ids_a, ids_b=ids_b, slug_b=rally_b.slug,
                 xss_slug=xss.slug, tokens=tokens, door_link_secret=link_secret,
                 door_session_secret=session_secret, api_token=api_token, invite_secret=invite_secret)


def _campaign_message(rally: Rally, user: User) -> int:
    """A draft organizer message to the rally's going people (through the messaging service); its id."""
    return create_message(rally, user, Draft(segment="going", channel="email", subject="News", body="Hello")).id


def _checked_in_at_past_rally(rally: Rally, owner: User) -> None:
    """A door, a ticket and a real check-in at a past rally (so the turnout pages have rows)."""
    door = make_door(rally, "Past gate")
    _rsvp, code = make_ticket(rally, name="Philippa Quaintance-Roe", email="philippa.quaintance@example.org")
    with atomic():
        _session, secret = doors.organizer_session(owner.id, door, "P")
    check_in(code, doors.authenticate(secret, door.id), nonce="audit-nonce-1", client_time=None, force=True, people=None)


def live_fields(**fields) -> dict:
    """Rally fields for a rally whose doors are open now (it starts in 30 minutes)."""
    fields.setdefault("starts_at", utcnow() + timedelta(minutes=30))
    return fields


def quick_rsvp(rally: Rally, guests: int = 0, email: str | None = None, name: str = "Ana López") -> tuple[int, str]:
    """RSVP through the service (make_rsvp); returns (rsvp id, outcome)."""
    result = make_rsvp(rally, name=name, email=email, guests=guests)
    return result.rsvp_id, result.outcome


def set_status_at(rsvp_id: int, moment) -> None:
    """Backdate when a party joined its queue (the waitlist order key)."""
    with atomic():
        db.session.execute(sa.update(Rsvp).where(Rsvp.id == rsvp_id).values(status_at=moment))



# --- volunteer shifts ---------------------------------------------------------------------------------


def make_shift(rally: Rally, door: Door | None = None, *, starts_at: datetime | None = None, hours: float = 3,
               slots: int = 2, role: str = "scanner", notes: str = ""):
    """A shift at a door of the rally (through the shift service; times as the rally's wall clock)."""
    from zoneinfo import ZoneInfo

    from rallies.volunteers.shifts import ShiftInput, create_shift

    door = door or make_door(rally, f"Gate {next(_serial)}")
    starts = starts_at or rally.starts_at - timedelta(hours=1)
    tz = ZoneInfo(rally.timezone)
    local = starts.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
    return create_shift(rally, ShiftInput(door.id, local, local + timedelta(hours=hours), slots, role, notes))


def volunteer(shift, name: str = "Vera Volunteer", email: str | None = None, phone: str = "+13125550147"):
    """Sign someone up for a shift through the sign-up service; returns its SignupResult."""
    from rallies.volunteers.signups import VolunteerInput, sign_up

    email = email or f"{uuid.uuid4().hex[:10]}@example.org"
    return sign_up(db.session.get(Rally, shift.rally_id), shift.id, VolunteerInput(name, email, phone))


def volunteer_device(signup_result, device: str = "Volunteer phone") -> doors.DoorContext:
    """A device that opened the volunteer's own door link (the one their email carries)."""
    from rallies.models import VolunteerSignup
    from rallies.volunteers.door_links import door_link_secret

    signup = db.session.get(VolunteerSignup, signup_result.signup_id)
    with atomic():
        _session, secret = doors.open_link(door_link_secret(signup), device)
    return doors.authenticate(secret, signup.shift.door_id)
