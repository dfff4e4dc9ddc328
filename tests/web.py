"""Talking to the app over HTTP in tests: the RSVP form, the door API, and the route crawlers' URLs.

(Named web, not http: pytest puts tests/ first on sys.path, where an http.py would hide the standard library's.)
"""

from __future__ import annotations

import json
import re

# --- the RSVP form and ticket pages -------------------------------------------------------------------


def rsvp_post(client, rally, **fields):
    """POST the RSVP form like a browser would (defaults fill the required fields)."""
    data = {"name": "Ana López", "email": "ana@example.org", "guests": "0"}
    data.update({k: str(v) for k, v in fields.items()})
    return client.post(f"/r/{rally.slug}/rsvp", data=data)


def token_from(response) -> str:
    """The ticket token from a redirect to /t/<token>."""
    match = re.search(r"/t/([A-Za-z0-9_\-]{43})", response.headers.get("Location", ""))
    assert match, response.headers.get("Location")
    return match.group(1)


# --- the door API -------------------------------------------------------------------------------------


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def door_post(client, door_id: int, name: str, body, secret: str, **headers):
    """POST JSON to /door/<id>/api/<name> with a bearer credential."""
    return client.post(f"/door/{door_id}/api/{name}", data=json.dumps(body), content_type="application/json",
                       headers={**bearer(secret), **headers})


# --- crawling app.url_map -----------------------------------------------------------------------------

#: Endpoints whose string arguments are public tokens or slugs (never ids); the crawler fills them
#: from the world. A new string-argument route must be added here, or test_every_route_is_classified fails.
TOKEN_ROUTES = {
    "static": "filename",
    "rallies.show": "slug", "rsvp.rsvp_page": "slug", "rsvp.thanks": "slug", "rsvp.sent": "slug",
    "tickets.page": "token", "tickets.qr": "token", "tickets.ics": "token", "tickets.guests": "token",
    "tickets.cancel": "token", "tickets.answer": "token", "tickets.confirm": "token",
    "door.open_link": "secret", "auth.invite": "token", "auth.reset_password": "token", "auth.verify_email": "token",
    "preferences.unsubscribe": "token", "preferences.unsubscribe_now": "token", "preferences.edit": "token",
    "volunteers.rally": "slug", "volunteers.sign_up": "slug", "volunteers.page": "token", "volunteers.cancel": "token",
}

ID_ARGS = {"campaign_id", "rally_id", "door_id", "rsvp_id", "membership_id", "invite_id", "link_id",
           "session_id", "supporter_id", "message_id", "shift_id"}


def methods_of(rule) -> set[str]:
    return set(rule.methods or ()) - {"HEAD", "OPTIONS"}


def build(app, rule, values: dict) -> str:
    """The rule's URL with these values (extra values ignored)."""
    adapter = app.url_map.bind("localhost")
    args = {k: values[k] for k in rule.arguments}
    if rule.endpoint == "auth.invite" and values.get("invite_token"):
        args["token"] = values["invite_token"]  # a real invite, so its page is reached, not just refused
    return adapter.build(rule.endpoint, args, append_unknown=False)


def string_values(world, slug: str | None = None) -> dict:
    """Values for the token/slug arguments: the real ones of a factories.World."""
    return {"slug": slug or world.slug_b, "token": world.tokens[0], "secret": world.door_link_secret,
            "filename": "css/app.css", "answer": "yes", "invite_token": world.invite_secret}


def rules(app, method: str | None = None):
    """Every rule (optionally only those accepting method), sorted for determinism."""
    out = [r for r in app.url_map.iter_rules() if method is None or method in methods_of(r)]
    return sorted(out, key=lambda r: (r.rule, r.endpoint))
