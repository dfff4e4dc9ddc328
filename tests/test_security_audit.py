"""Cross-cutting security audit: crawls app.url_map so a route added later is checked automatically.

CSRF on every write, 404 for another campaign's ids, no personal data on public pages, escaping
everywhere (maps and CSV too), security headers and no third-party hosts, long random secrets.
"""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta

import pytest

from rallies.database import atomic
from rallies.extensions import db
from rallies.models import DoorLink, utcnow
from tests.factories import FORMULA_NAME, PASSWORD, PEOPLE, XSS_TITLE, audit_world, campaign_of, door_link
from tests.web import ID_ARGS, TOKEN_ROUTES, build, methods_of, rules, string_values

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

#: Writes exempt from the CSRF form token, and why. Every one is a JSON endpoint authenticated by a
#: door credential: an ``Authorization: Bearer`` header (a cross-site form can never send one), or the
#: SameSite=Strict door cookie together with the ``X-Door-Request: 1`` header (a custom header forces a
#: CORS preflight this app never grants). Organizer login cookies are not accepted there at all.
CSRF_EXEMPT = {f"door.api_{n}" for n in ("checkin", "walkin", "undo", "reduce", "upload")} | {
    f"api.door_{n}" for n in ("checkin", "walkin", "undo", "reduce", "upload")
} | {
    # RFC 8058 one-click unsubscribe: mail providers POST with no cookie and no token. It is authenticated
    # by the signed token in its URL, only ever turns campaign email off, and is idempotent.
    "preferences.unsubscribe_now",
    "sms.inbound_text",  # Twilio's webhook: authenticated by X-Twilio-Signature (403 without it)
}

#: GET routes that take an id but are authenticated by a door device, not the organizer's login:
#: for these a foreign id must answer exactly like an unknown id (no existence oracle) and never 200.
DEVICE_ID_ROUTES = {"door.scanner"} | {f"door.api_{n}" for n in ("search", "status", "log", "sync", "whoami")}
#: Id routes that show nothing about the object (the door PWA manifest only names the scanner).
NO_DATA_ID_ROUTES = {"door.manifest"}
#: Writes with an id that act only on the caller's own door-device cookie (sign-out forgets this device).
DEVICE_ID_WRITES = {"door.signout"}


@pytest.fixture
def world(app):
    return audit_world()


def _logged_in(app, login, user):
    c = app.test_client()
    login(c, user)
    return c


def _values(world, ids):
    return {**string_values(world), **ids}


# --- 0. every route is classified -----------------------------------------------------------


def test_every_route_is_classified(app):
    """A route with an argument the crawler cannot fill must be classified here first."""
    unknown = []
    for rule in rules(app):
        for arg in rule.arguments:
            if arg in ID_ARGS:
                continue
            if TOKEN_ROUTES.get(rule.endpoint) == arg or (rule.endpoint == "tickets.answer" and arg == "answer"):
                continue
            unknown.append((rule.rule, arg))
    assert not unknown, f"Classify these route arguments in tests/web.py: {unknown}"


# --- 1. CSRF on every write -----------------------------------------------------------------


def _csrf_crawl(app, client, world) -> tuple[list, list]:
    """POST (etc.) to every write route without a token: (endpoints checked, writes that were not refused)."""
    checked, unprotected = [], []
    for rule in rules(app):
        writes = methods_of(rule) & WRITE_METHODS
        if not writes or rule.endpoint in CSRF_EXEMPT:
            continue
        url = build(app, rule, _values(world, world.ids_a))
        for method in sorted(writes):
            # A same-origin Referer, so the only thing missing is the token.
            resp = client.open(url, method=method, data={"name": "x", "email": "x@example.org"},
                               headers={"Referer": "https://localhost/"})
            body = resp.get_data(as_text=True)
            if resp.status_code != 400 or not ("csrf_failed" in body or "form expired" in body):
                unprotected.append((method, rule.rule, resp.status_code))
            checked.append(rule.endpoint)
    return checked, unprotected


def test_every_write_route_requires_csrf(app_factory, login):
    """With CSRF on, every POST/PUT/PATCH/DELETE without a token is refused (400), except the allow-list."""
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        world = audit_world()
        checked, unprotected = _csrf_crawl(app, _logged_in(app, login, world.owner_a), world)
        assert not unprotected, f"Writes accepted without a CSRF token: {unprotected}"
        assert len(checked) > 30  # the crawl really ran
        # The allow-list is exactly the set of views Flask-WTF exempts, so a new exemption fails here.
        from rallies.extensions import csrf

        exempt_views = {f"{v}" for v in csrf._exempt_views}
        exempt_endpoints = {r.endpoint for r in rules(app) if methods_of(r) & WRITE_METHODS
                            and f"{app.view_functions[r.endpoint].__module__}.{app.view_functions[r.endpoint].__name__}"
                            in exempt_views}
        assert exempt_endpoints <= CSRF_EXEMPT, exempt_endpoints - CSRF_EXEMPT
        assert {r.endpoint for r in rules(app) if methods_of(r) & WRITE_METHODS} >= CSRF_EXEMPT


def test_the_crawlers_catch_a_new_unsafe_route(app_factory, login):
    """Add a CSRF-exempt write and a read that ignores campaigns: both crawls report them."""
    from rallies.extensions import csrf
    from rallies.models import Rally

    app = app_factory(WTF_CSRF_ENABLED=True)

    def audit_leaky_write(rally_id):
        return "changed"

    def audit_leaky_read(rally_id):
        return db.session.get(Rally, rally_id).title

    app.add_url_rule("/audit-leak/<int:rally_id>/write", "audit_leaky_write", csrf.exempt(audit_leaky_write),
                     methods=["POST"])
    app.add_url_rule("/audit-leak/<int:rally_id>", "audit_leaky_read", audit_leaky_read)
    with app.app_context():
        world = audit_world()
        _checked, unprotected = _csrf_crawl(app, _logged_in(app, login, world.owner_a), world)
        assert unprotected == [("POST", "/audit-leak/<int:rally_id>/write", 200)]
        _crawled, wrong = _foreign_id_crawl(app, _logged_in(app, login, world.owner_a), world)
        assert wrong == [("/audit-leak/<int:rally_id>", 200)]


def test_csrf_exempt_door_endpoints_need_a_door_credential(app_factory, login):
    """Exempt JSON writes: the door cookie alone needs X-Door-Request; organizer cookies are refused."""
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        world = audit_world()
        door_id = world.ids_b["door_id"]
        owner = _logged_in(app, login, world.owner_b)
        for name in ("checkin", "walkin", "undo", "reduce", "upload"):
            # Logged-in organizer, no door credential: not authenticated.
            for url in (f"/door/{door_id}/api/{name}", f"/api/v1/door/{name}"):
                resp = owner.post(url, json={"code": "X", "nonce": "n1"}, headers={"X-Door-Request": "1"})
                assert resp.status_code == 401, (url, resp.status_code)
                assert resp.get_json()["error"]["code"] in ("unauthenticated", "session_unknown")
            # The door cookie without the custom header: refused as a possible cross-site request.
            device = app.test_client()
            device.set_cookie("door_session", world.door_session_secret, path=f"/door/{door_id}/")
            resp = device.post(f"/door/{door_id}/api/{name}", json={"code": "X", "nonce": "n2"})
            assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "csrf_failed", name
        # The same cookie with the header is accepted (a real decision, not an auth error).
        resp = device.post(f"/door/{door_id}/api/checkin", json={"code": "NOTACODE", "nonce": "nonce-0003"},
                           headers={"X-Door-Request": "1"})
        assert resp.status_code == 200, resp.get_json()
        # And a bearer token works without any cookie or custom header.
        resp = app.test_client().post("/api/v1/door/checkin", json={"code": "NOTACODE", "nonce": "nonce-0004"},
                                      headers={"Authorization": f"Bearer {world.api_token}"})
        assert resp.status_code == 200, resp.get_json()


# --- 2. another campaign's ids give 404 -------------------------------------------------------


def _foreign_id_crawl(app, client, world) -> tuple[int, list]:
    """GET every id route with campaign B's ids: (routes crawled, answers that were not a plain 404)."""
    wrong, crawled = [], 0
    for rule in rules(app, "GET"):
        if not (set(rule.arguments) & ID_ARGS) or rule.endpoint in NO_DATA_ID_ROUTES:
            continue
        url = build(app, rule, _values(world, world.ids_b))
        resp = client.get(url)
        crawled += 1
        if rule.endpoint in DEVICE_ID_ROUTES:
            unknown = client.get(build(app, rule, _values(world, dict.fromkeys(ID_ARGS, 10 ** 6 + 7))))
            if resp.status_code == 200 or resp.status_code != unknown.status_code:
                wrong.append((rule.rule, resp.status_code, f"unknown id gives {unknown.status_code}"))
        elif resp.status_code != 404:
            wrong.append((rule.rule, resp.status_code))
    return crawled, wrong


def test_foreign_ids_give_404_on_every_get_route(app, world, login):
    """Logged in to campaign A, every GET route with B's ids answers 404 (not 403, not 200)."""
    crawled, wrong = _foreign_id_crawl(app, _logged_in(app, login, world.owner_a), world)
    assert not wrong, f"Foreign ids not answered with 404: {wrong}"
    assert crawled > 20


def test_foreign_ids_give_404_on_every_write_route(app, world, login):
    """The same for writes: B's ids in a POST from A's owner are 404, and nothing of B's changes."""
    client = _logged_in(app, login, world.owner_a)
    wrong = []
    for rule in rules(app, "POST"):
        if not (set(rule.arguments) & ID_ARGS) or rule.endpoint in CSRF_EXEMPT | DEVICE_ID_WRITES:
            continue
        url = build(app, rule, _values(world, world.ids_b))
        resp = client.post(url, data={"name": "Hijacked", "role": "owner", "title": "Hijacked"})
        if resp.status_code != 404:
            wrong.append((rule.rule, resp.status_code))
    assert not wrong, f"Foreign ids in writes not answered with 404: {wrong}"
    db.session.expire_all()
    from rallies.models import Campaign, Rally

    assert db.session.get(Campaign, world.ids_b["campaign_id"]).name == "Campaign B"
    assert db.session.get(Rally, world.ids_b["rally_id"]).status == "scheduled"


# --- 3. no personal data on public pages ----------------------------------------------------


def _pii_strings() -> list[str]:
    out = []
    for p in PEOPLE:
        out += [p["name"], html.escape(p["name"]), html.escape(p["name"], quote=False), p["email"]]
        digits = re.sub(r"\D", "", p["phone"])
        if digits:
            out += [p["phone"], digits[-10:], "+1" + digits[-10:]]
        out.append(p["postal_code"])
    return [s for s in out if s]


def _public_urls(app, world) -> list[str]:
    """Every GET URL an anonymous visitor can build: slugs of B's rallies, B's ids, search pages."""
    urls = []
    for rule in rules(app, "GET"):
        if rule.endpoint in ("static",) or rule.endpoint.startswith("tickets."):
            continue  # a ticket page is the supporter's own, behind its secret token
        for slug in (world.slug_b, world.xss_slug):
            urls.append(build(app, rule, {**string_values(world, slug), **world.ids_b}))
    urls += ["/?state=IL", "/?city=Chicago", "/near?q=60607", "/near?q=Chicago%2C+IL",
             "/near?lat=41.88&lon=-87.66", "/door/sw.js"]
    return sorted(set(urls))


def test_public_pages_show_no_personal_data(app, world):
    """Anonymous GETs of every public route (lists, rally pages, near me, maps, sync without auth)."""
    anon = app.test_client()
    needles = [s for s in _pii_strings() if not s.isdigit() or len(s) > 5]  # ZIPs checked below
    leaks = []
    for url in _public_urls(app, world):
        resp = anon.get(url)
        body = resp.get_data().decode("utf-8", "replace")  # images too: text in them would show
        for needle in needles:
            if needle in body:
                leaks.append((url, resp.status_code, needle))
        for p in PEOPLE:  # a supporter's ZIP next to their name would identify them; alone it is public info
            assert p["email"].split("@")[0] not in body, (url, p["email"])
    assert not leaks, f"Personal data on public pages: {leaks}"


def test_door_sync_and_search_show_first_name_and_initial_only(app, world):
    """The door device gets first name + last initial, never emails, phones or full names."""
    auth = {"Authorization": f"Bearer {world.api_token}"}
    client = app.test_client()
    for url in ("/api/v1/door/sync", "/api/v1/door/search?q=phil", "/api/v1/door/search?q=bart",
                "/api/v1/door/log", "/api/v1/door/status"):
        resp = client.get(url, headers=auth)
        assert resp.status_code == 200, (url, resp.status_code)
        body = resp.get_data(as_text=True)
        for p in PEOPLE[:2]:
            assert p["email"] not in body and p["name"] not in body, (url, p["name"])
            assert re.sub(r"\D", "", p["phone"])[-10:] not in body
    assert "Philippa Q." in client.get("/api/v1/door/search?q=phil", headers=auth).get_data(as_text=True)


def test_ticket_page_shows_only_its_own_person(app, world):
    """A ticket page (secret URL) shows its holder, never the other supporters of the rally."""
    body = app.test_client().get(f"/t/{world.tokens[0]}").get_data(as_text=True)
    assert "Philippa" in body
    for p in PEOPLE[1:]:
        assert p["email"] not in body and html.escape(p["name"]) not in body


# --- 4. escaping everywhere -----------------------------------------------------------------

RAW = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>"]


def _assert_escaped(url, resp):
    """HTML never carries the raw markup; other types are served so a browser never renders them as HTML."""
    if resp.mimetype != "text/html":
        assert resp.mimetype in ("application/json", "text/csv", "text/calendar", "image/png", "image/svg+xml",
                                 "image/vnd.microsoft.icon", "text/javascript", "application/manifest+json"), (url, resp.mimetype)
        assert resp.headers.get("X-Content-Type-Options") == "nosniff"
        return ""
    body = resp.get_data(as_text=True)
    for raw in RAW:
        assert raw not in body, (url, raw)
    assert "SSTIprobe" not in body, (url, "a title was evaluated as a template")
    return body


def test_html_in_titles_and_names_is_escaped_everywhere(app, world, login):
    """Public page, organizer pages, turnout pages and maps: the title and name appear escaped."""
    from rallies.models import Rally

    xss = db.session.scalar(db.select(Rally).where(Rally.slug == world.xss_slug))
    owner = _logged_in(app, login, world.owner_b)
    ids = {**world.ids_b, "rally_id": xss.id}
    shown_title = shown_name = 0
    for rule in rules(app, "GET"):
        if rule.endpoint == "static":
            continue
        url = build(app, rule, {**string_values(world, world.xss_slug), **ids, "token": world.tokens[6]})
        for client in (owner, app.test_client()):
            resp = client.get(url)
            if resp.status_code != 200:
                continue
            body = _assert_escaped(url, resp)
            shown_title += html.escape(XSS_TITLE) in body or "&lt;script&gt;alert(1)" in body
            shown_name += "&lt;img src=x onerror=alert(2)&gt;" in body or "&lt;img src=x" in body
    # The strings really were on the pages (escaped), so the check above had something to find.
    assert shown_title >= 4, shown_title
    assert shown_name >= 1, shown_name
    for url in (f"/turnout/campaigns/{world.ids_b['campaign_id']}/map", f"/r/{world.xss_slug}"):
        body = _assert_escaped(url, owner.get(url))
        assert "alert(1)" in body  # the map popup carries the (escaped) title


def test_csv_exports_escape_formulas(app, world, login):
    """Every CSV export: no cell a spreadsheet would run as a formula."""
    owner = _logged_in(app, login, world.owner_b)
    from rallies.models import Rally

    xss = db.session.scalar(db.select(Rally).where(Rally.slug == world.xss_slug))
    seen_formula_name = seen_formula_title = False
    exports = [r for r in rules(app, "GET") if r.rule.endswith(".csv")]
    assert len(exports) >= 3
    for rule in exports:
        for rally_id in (xss.id, world.ids_b["rally_id"]):
            url = build(app, rule, {**world.ids_b, "rally_id": rally_id})
            resp = owner.get(url)
            assert resp.status_code == 200, (url, resp.status_code)
            for row in csv.reader(io.StringIO(resp.get_data(as_text=True))):
                for cell in row:
                    assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r") or _is_number(cell), (url, cell)
                    seen_formula_name |= "HYPERLINK" in cell
                    seen_formula_title |= "cmd|" in cell
    assert seen_formula_name, "the formula-named RSVP should be in the RSVP export"
    assert seen_formula_title, "the formula-titled past rally should be in the turnout exports"
    assert FORMULA_NAME.startswith("=")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


# --- 7. security headers, no third-party hosts ----------------------------------------------

_ATTR = re.compile(r"<(script|link|img|iframe|source|embed|object)\b[^>]*?\b(src|href|data)\s*=\s*[\"']([^\"']+)", re.I)


def test_security_headers_and_no_external_assets(app, world, login):
    """Every HTML page: CSP without unsafe-inline scripts, nosniff, frame denial, referrer policy, local assets."""
    owner = _logged_in(app, login, world.owner_b)
    tile_host = re.match(r"https?://[^/]+", app.config["MAP_TILES_URL"]).group(0)
    pages = 0
    for rule in rules(app, "GET"):
        if rule.endpoint == "static":
            continue
        url = build(app, rule, {**string_values(world), **world.ids_b})
        for client in (owner, app.test_client()):
            resp = client.get(url)
            if resp.mimetype != "text/html":
                continue
            pages += 1
            csp = resp.headers.get("Content-Security-Policy", "")
            script_src = re.search(r"script-src([^;]*)", csp)
            assert script_src and "'unsafe-inline'" not in script_src.group(1), (url, csp)
            assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, url
            img_src = re.search(r"img-src([^;]*)", csp).group(1)
            assert {h for h in img_src.split() if "://" in h} <= {tile_host}, (url, img_src)
            assert resp.headers.get("X-Content-Type-Options") == "nosniff", url
            assert resp.headers.get("X-Frame-Options") == "DENY", url
            assert resp.headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin"), url
            body = resp.get_data(as_text=True)
            for tag, _attr, ref in _ATTR.findall(body):
                if ref.startswith(app.config["BASE_URL"] + "/"):
                    continue  # our own absolute URL (rel=canonical)
                assert not re.match(r"(https?:)?//", ref), (url, tag, ref)
            # Inline scripts only with this response's nonce.
            nonce = re.search(r"'nonce-([^']+)'", csp)
            for script in re.findall(r"<script\b([^>]*)>", body, re.I):
                if "src=" not in script and 'type="application/json"' not in script:  # JSON data never runs
                    assert nonce and f'nonce="{nonce.group(1)}"' in script, (url, script)
    assert pages > 25


# --- 8. ticket and door secrets -------------------------------------------------------------


def test_ticket_tokens_are_long_random_and_forged_ones_404(app, world):
    """Ticket URLs carry >= 256-bit random tokens; a forged or altered token gives 404 everywhere."""
    assert len(set(world.tokens)) == len(world.tokens)
    for token in world.tokens:
        assert len(token) >= 43 and re.fullmatch(r"[A-Za-z0-9_\-]+", token)
    client = app.test_client()
    t = world.tokens[0]
    forged = [t[:-1] + ("A" if t[-1] != "A" else "B"), t[:20], "A" * 43, "1", t.upper() if t.upper() != t else t.lower()]
    for bad in forged:
        for suffix in ("", "/qr.png", "/rally.ics", "/cancel", "/guests", "/answer/yes"):
            resp = client.get(f"/t/{bad}{suffix}")
            assert resp.status_code == 404, (bad, suffix, resp.status_code)
    assert client.get(f"/t/{t}").status_code == 200


def test_door_links_are_secret_and_refused_once_revoked_or_expired(app, world):
    """Door link secrets are long; revoked and expired links (and their sessions) are refused."""
    assert len(world.door_link_secret) >= 43 and len(world.api_token) >= 43
    client = app.test_client()
    assert client.get(f"/door/l/{world.door_link_secret}").status_code == 200
    assert client.get(f"/door/l/{world.door_link_secret[:-2]}xx").status_code == 403
    door_id = world.ids_b["door_id"]
    device = app.test_client()
    device.set_cookie("door_session", world.door_session_secret, path=f"/door/{door_id}/")
    assert device.get(f"/door/{door_id}/api/whoami").status_code == 200
    with atomic():
        db.session.get(DoorLink, world.ids_b["link_id"]).revoked_at = utcnow()
    resp = client.get(f"/door/l/{world.door_link_secret}")
    assert resp.status_code == 403 and "revoked" in resp.get_data(as_text=True)
    resp = device.get(f"/door/{door_id}/api/whoami")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "link_revoked"
    assert device.get(f"/door/{door_id}/").status_code == 401
    # Expired: a fresh link whose expiry passes.
    from rallies.door import doors
    from rallies.models import Door

    link, secret = door_link(db.session.get(Door, door_id), hours=1)
    with atomic():
        _s, session_secret = doors.open_link(secret, "Phone 2")
        db.session.get(DoorLink, link.id).expires_at = utcnow() - timedelta(seconds=1)
    resp = client.get(f"/door/l/{secret}")
    assert resp.status_code == 403 and "expired" in resp.get_data(as_text=True)
    resp = client.get("/api/v1/door/whoami", headers={"Authorization": f"Bearer {session_secret}"})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "link_expired"


def test_secrets_are_stored_only_as_hashes(app, world):
    """Door links, door sessions, API tokens and invites keep only a hash; the secret is in no column."""
    import sqlalchemy as sa

    secrets_ = [world.door_link_secret, world.door_session_secret, world.api_token, world.invite_secret]
    for table in db.metadata.sorted_tables:
        text_cols = [c for c in table.columns if isinstance(c.type, sa.String | sa.Text)]
        if not text_cols:
            continue
        for row in db.session.execute(sa.select(*text_cols)):
            for value in row:
                assert value not in secrets_, (table.name, "stores a secret in clear")


def test_production_session_cookie_is_secure(app_factory):
    """Outside tests the login cookie is Secure, HttpOnly and SameSite, so it never travels over http."""
    import os

    from config import Config

    if os.environ.get("SESSION_COOKIE_SECURE") is not None:
        pytest.skip("SESSION_COOKIE_SECURE is set in this environment; the default is what is checked")
    app = app_factory()
    for key in ("SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "REMEMBER_COOKIE_SECURE"):
        assert getattr(Config, key) is True, key
    assert Config.SESSION_COOKIE_SAMESITE in ("Lax", "Strict")
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


EVIL = ["https://evil.example/x", "//evil.example", "/\\evil.example", "/\t/evil.example", "javascript:alert(1)"]


def _off_site(location: str) -> bool:
    """Would a browser leave this site following the Location? (another host, a script, //, /\\, tabs)"""
    from urllib.parse import urlsplit

    parts = urlsplit(location)
    if parts.scheme and parts.scheme not in ("http", "https"):
        return True
    if parts.netloc and parts.netloc != "localhost":
        return True
    return location.startswith(("//", "/\\", "\\")) or any(ch in location[:4] for ch in "\t\n\r")


def test_no_route_redirects_off_site(app, world, login):
    """Every route, with next/return params and a foreign Referer: a redirect never leaves the site."""
    owner = _logged_in(app, login, world.owner_b)
    bad = []
    for rule in rules(app):
        if rule.endpoint == "static":
            continue
        url = build(app, rule, {**string_values(world), **world.ids_b})
        for client in (owner, app.test_client()):
            for i, evil in enumerate(EVIL):
                query = {"next": evil, "return_to": evil, "redirect": evil, "url": evil}
                method = "GET" if "GET" in methods_of(rule) else sorted(methods_of(rule))[0]
                resp = client.open(url, method=method, query_string=query, headers={"Referer": EVIL[i % 2]},
                                   data={"email": "owner-b@example.org", "password": PASSWORD})
                location = resp.headers.get("Location", "")
                resp.close()  # finish streamed exports inside this request's context
                if resp.status_code in (301, 302, 303, 307, 308) and _off_site(location):
                    bad.append((method, rule.rule, evil, location))
            login(owner, world.owner_b)  # a POST above may have logged out
    assert not bad, f"Open redirects: {bad}"


def test_description_links_cannot_inject(app, world, make_rally):
    """Only http(s) URLs become links, and a quote in a URL cannot break out of the href."""
    text = 'javascript:alert(1)\nhttps://ok.example/a"onmouseover="alert(3)\n<a href="https://x.example">x</a>'
    rally = make_rally(campaign_of(world.owner_b), slug="desc-rally", description=text)
    body = app.test_client().get(f"/r/{rally.slug}").get_data(as_text=True)
    assert 'href="javascript:' not in body and "onmouseover=\"alert" not in body
    assert '<a href="https://x.example">' not in body
    assert 'href="https://ok.example/a' in body  # the real link is still a link
