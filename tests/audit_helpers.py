"""A small but complete world for the security and robustness audit, and a URL builder that crawls app.url_map.

Two campaigns (A and B), each with an owner; B has a viewer, an invite, rallies (one titled with HTML),
RSVPs made through the real RSVP form (so supporters, tickets and counters are real), a door with a link,
a door session and an API token, and a check-in. The crawler fills every rule's arguments from these
objects, so a route added later is crawled without touching the tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from rallies.auth import teams
from rallies.database import atomic
from rallies.door import doors
from rallies.extensions import db
from rallies.models import Invite, Membership, Rsvp, Supporter, utcnow

#: HTML to escape, and a template expression that must never be evaluated (folium compiles popups as Jinja).
XSS_TITLE = "<script>alert(1)</script>\"'&{{\"SSTI\"~\"probe\"}}"
XSS_NAME = "Zed <img src=x onerror=alert(2)> Quux"
FORMULA_TITLE = "@SUM(1+1)*cmd|' /C calc'!A0"
FORMULA_NAME = '=HYPERLINK("http://evil.example/x","click")'

#: People who RSVP through the public form; none of these strings may ever appear on a public page.
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
    """Ids and secrets of the objects the crawler plugs into URLs."""

    owner_a: object
    owner_b: object
    ids_a: dict
    ids_b: dict
    slug_b: str
    xss_slug: str
    tokens: list[str] = field(default_factory=list)
    door_link_secret: str = ""
    door_session_secret: str = ""
    api_token: str = ""
    invite_secret: str = ""


def rsvp_via_form(client, slug: str, person: dict):
    """POST the public RSVP form like a browser; returns the ticket token from the redirect."""
    data = {"name": person["name"], "email": person["email"], "phone": person.get("phone", ""),
            "postal_code": person.get("postal_code", ""), "guests": "1"}
    page = client.get(f"/r/{slug}/rsvp").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token:  # the app may run with CSRF on (the CSRF audit does)
        data["csrf_token"] = token.group(1)
    # The test client speaks https (PREFERRED_URL_SCHEME), where Flask-WTF also checks the Referer.
    resp = client.post(f"/r/{slug}/rsvp", data=data, headers={"Referer": f"https://localhost/r/{slug}/rsvp"})
    assert resp.status_code in (302, 303), (resp.status_code, resp.get_data(as_text=True)[:2000])
    match = re.search(r"/t/([A-Za-z0-9_\-]+)", resp.headers.get("Location", ""))
    assert match, resp.headers.get("Location")
    return match.group(1)


def build_world(app, make_user, make_rally) -> World:
    """Make the two campaigns and everything in them through the fixtures and services."""
    from tests.conftest import campaign_of

    owner_a = make_user(email="owner-a@example.org", campaign="Campaign A")
    owner_b = make_user(email="owner-b@example.org", campaign="Campaign B")
    camp_a, camp_b = campaign_of(owner_a), campaign_of(owner_b)
    viewer_b = make_user(email="viewer-b@example.org", campaign=camp_b, role="viewer")
    rally_a = make_rally(camp_a, title="A's rally", slug="a-rally")
    rally_b = make_rally(camp_b, title="B's rally", slug="b-rally")
    xss = make_rally(camp_b, title=XSS_TITLE, slug="xss-rally", venue_name=XSS_TITLE, description=XSS_TITLE)
    past_b = make_rally(camp_b, title=FORMULA_TITLE, slug="b-past", starts_at=datetime.now(UTC) - timedelta(days=20))

    anon = app.test_client()
    tokens = [rsvp_via_form(anon, slug, p) for slug in (rally_b.slug, xss.slug) for p in PEOPLE]
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
    _past_rsvp_and_checkin(past_b, door)

    def first(model, *where):
        return db.session.scalar(sa.select(model.id).where(*where).order_by(model.id))

    membership_b = first(Membership, Membership.user_id == viewer_b.id)
    owner_a_membership = first(Membership, Membership.user_id == owner_a.id)
    ids_b = dict(campaign_id=camp_b.id, rally_id=rally_b.id, door_id=door.id, link_id=link.id,
                 session_id=session.id, invite_id=invite.id, membership_id=membership_b,
                 rsvp_id=first(Rsvp, Rsvp.rally_id == rally_b.id),
                 supporter_id=first(Supporter, Supporter.campaign_id == camp_b.id))
    assert all(ids_b.values()), ids_b
    make_user(email="viewer-a@example.org", campaign=camp_a, role="viewer")
    supporter_a = _supporter_in(camp_a.id)
    ids_a = dict(campaign_id=camp_a.id, rally_id=rally_a.id, door_id=door_a.id, link_id=link_a.id,
                 session_id=session_a.id, invite_id=invite_a.id,
                 membership_id=first(Membership, Membership.campaign_id == camp_a.id,
                                     Membership.id != owner_a_membership),
                 rsvp_id=None, supporter_id=supporter_a)
    ids_a["rsvp_id"] = _rsvp_in(rally_a)
    assert db.session.get(Invite, invite.id) is not None
    return World(owner_a=owner_a, owner_b=owner_b, ids_a=ids_a, ids_b=ids_b, slug_b=rally_b.slug,
                 xss_slug=xss.slug, tokens=tokens, door_link_secret=link_secret,
                 door_session_secret=session_secret, api_token=api_token, invite_secret=invite_secret)


def _rsvp_in(rally) -> int:
    from tests.doorkit import make_ticket

    rsvp, _code = make_ticket(rally, name="Alma Alpha", email="alma@example.org")
    return rsvp.id


def _supporter_in(campaign_id: int) -> int:
    from rallies.rsvp.supporters import supporter_for

    with atomic():
        return supporter_for(campaign_id, "supporter-a@example.org", name="Sam A")


def _past_rsvp_and_checkin(rally, door_of_other_rally) -> None:
    """A past rally with a door, a ticket and a real check-in (so the turnout pages have rows)."""
    from rallies.door.checkin import check_in
    from tests.doorkit import make_door, make_ticket

    door = make_door(rally, "Past gate")
    _rsvp, code = make_ticket(rally, name="Philippa Quaintance-Roe", email="philippa.quaintance@example.org")
    with atomic():
        _s, secret = doors.organizer_session(db.session.get(Membership, _owner_membership(rally)).user_id, door, "P")
    ctx = doors.authenticate(secret, door.id)
    check_in(code, ctx, nonce="audit-nonce-1", client_time=None, force=True, people=None)


def _owner_membership(rally) -> int:
    return db.session.scalar(sa.select(Membership.id).where(Membership.campaign_id == rally.campaign_id,
                                                             Membership.role == "owner"))


# --- crawling ---------------------------------------------------------------------------

#: Endpoints whose string arguments are public tokens or slugs (never ids); the crawler fills them
#: from the world. A new string-argument route must be added here, or test_every_route_is_classified fails.
TOKEN_ROUTES = {
    "static": "filename",
    "rallies.show": "slug", "rsvp.rsvp_page": "slug", "rsvp.thanks": "slug", "rsvp.sent": "slug",
    "rsvp.ticket": "token", "rsvp.ticket_qr": "token", "rsvp.ticket_ics": "token", "rsvp.guests": "token",
    "rsvp.cancel": "token", "rsvp.answer": "token", "rsvp.confirm": "token",
    "door.open_link": "secret", "auth.invite": "token", "auth.reset_password": "token", "auth.verify_email": "token",
}

ID_ARGS = {"campaign_id", "rally_id", "door_id", "rsvp_id", "membership_id", "invite_id", "link_id",
           "session_id", "supporter_id"}


def methods_of(rule) -> set[str]:
    return set(rule.methods or ()) - {"HEAD", "OPTIONS"}


def build(app, rule, values: dict) -> str:
    """The rule's URL with these values (extra values ignored)."""
    adapter = app.url_map.bind("localhost")
    args = {k: values[k] for k in rule.arguments}
    if rule.endpoint == "auth.invite" and values.get("invite_token"):
        args["token"] = values["invite_token"]  # a real invite, so its page is reached, not just refused
    return adapter.build(rule.endpoint, args, append_unknown=False)


def string_values(world: World, slug: str | None = None) -> dict:
    """Values for the token/slug arguments (the world's real ones)."""
    return {"slug": slug or world.slug_b, "token": world.tokens[0], "secret": world.door_link_secret,
            "filename": "css/app.css", "answer": "yes", "invite_token": world.invite_secret}


def rules(app, method: str | None = None):
    """Every rule (optionally only those accepting method), sorted for determinism."""
    out = [r for r in app.url_map.iter_rules() if method is None or method in methods_of(r)]
    return sorted(out, key=lambda r: (r.rule, r.endpoint))
