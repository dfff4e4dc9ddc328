"""Robustness audit: rate limits on public endpoints, and never a 500 on junk input to any route.

The fuzzer crawls app.url_map, so a route added later is fuzzed too. It is deterministic (seeded)
and bounded, so it runs in seconds.
"""

from __future__ import annotations

import random

import pytest

from tests.factories import audit_world
from tests.web import ID_ARGS, build, methods_of, rules, string_values

TINY = "3 per minute"


@pytest.fixture
def limited(app_factory):
    """An app with rate limiting on and tiny limits, and a world in it (made without requests)."""
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", RATELIMIT_RSVP_IP=TINY,
                      RATELIMIT_RSVP_EMAIL=TINY, RATELIMIT_AUTH=TINY, RATELIMIT_PUBLIC=TINY, RATELIMIT_DOOR=TINY)
    with app.app_context():
        yield app, audit_world()


def _hammer(send, n=10):
    """Send until a 429 (at most n times); return that response."""
    for _ in range(n):
        resp = send()
        if resp.status_code == 429:
            return resp
    pytest.fail(f"no 429 after {n} requests (last status {resp.status_code})")


def _assert_says_when(resp, json=False):
    retry = resp.headers.get("Retry-After")
    assert retry and retry.isdigit() and 0 < int(retry) <= 3600, resp.headers
    if json:
        err = resp.get_json()["error"]
        assert err["code"] == "rate_limited" and f"{retry} seconds" in err["message"]
    else:
        assert resp.mimetype == "text/html"
        assert f"try again in {retry} seconds" in resp.get_data(as_text=True)


def test_rsvp_post_is_rate_limited(limited):
    """Hammering the RSVP form from one IP gets a 429 page that says when to retry."""
    app, world = limited
    client = app.test_client()
    counter = iter(range(1000))
    resp = _hammer(lambda: client.post(f"/r/{world.slug_b}/rsvp",
                                       data={"name": "Bot", "email": f"bot{next(counter)}@example.org", "guests": "0"}))
    _assert_says_when(resp)
    # Another client IP is not affected.
    other = app.test_client()
    resp = other.post(f"/r/{world.slug_b}/rsvp", data={"name": "Human", "email": "human@example.org", "guests": "0"},
                      environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert resp.status_code in (302, 303)


def test_login_is_rate_limited(limited):
    """Password guessing on the login form hits a 429."""
    app, world = limited
    client = app.test_client()
    resp = _hammer(lambda: client.post("/auth/login", data={"email": "owner-b@example.org", "password": "guess"}))
    _assert_says_when(resp)


def test_near_me_search_is_rate_limited(limited):
    """The near-me search (and the public list) are limited per IP."""
    app, world = limited
    client = app.test_client()
    _assert_says_when(_hammer(lambda: client.get("/near?q=60607")))


def test_door_checkin_api_is_rate_limited(limited):
    """The door check-in API answers 429 in JSON with Retry-After, per device credential."""
    app, world = limited
    client = app.test_client()
    counter = iter(range(1000))

    def scan():
        return client.post("/api/v1/door/checkin", json={"code": "NOTACODE", "nonce": f"nonce-{next(counter):06d}"},
                           headers={"Authorization": f"Bearer {world.api_token}"})

    _assert_says_when(_hammer(scan), json=True)
    # Limits are per device credential: another device at the same venue IP still scans.
    from rallies.database import atomic
    from rallies.door import doors
    from rallies.extensions import db
    from rallies.models import Door

    with atomic():
        _s, other = doors.create_api_token(db.session.get(Door, world.ids_b["door_id"]), "scanner", "Phone 9",
                                           world.owner_b.id)
    resp = client.post("/api/v1/door/checkin", json={"code": "NOTACODE", "nonce": "nonce-other-1"},
                       headers={"Authorization": f"Bearer {other}"})
    assert resp.status_code == 200, resp.get_json()
    # The scanner page's own endpoints (door cookie) share the mechanism.
    device = app.test_client()
    door_id = world.ids_b["door_id"]
    device.set_cookie("door_session", world.door_session_secret, path=f"/door/{door_id}/")
    _assert_says_when(_hammer(lambda: device.get(f"/door/{door_id}/api/status")), json=True)


# --- never a 500 on junk --------------------------------------------------------------------

JUNK_STRINGS = ["", "-1", "0", "99999999999999999999999", "1e309", "NaN", "-9223372036854775809", "ünïcødé ✊🏽",
                "\x00", "%00", "a\x00b", "<script>", "' OR 1=1 --", "../../etc/passwd", "x" * 10_000,
                "2026-13-45", "1" * 400, "[]", "{}", "null", "true", " "]
#: Raw query strings the client cannot build from str: invalid UTF-8 and a lone surrogate, percent-encoded.
RAW_QUERIES = [b"q=%ED%A0%80&page=%FF%FE", b"page=%00&state=%C0%AF", b"%zz=%&&=&page=1e999"]
JUNK_IDS = [0, 2**31, 2**63, 2**64 + 1, 10**30]
JUNK_BODIES = [
    dict(data=b""),
    dict(data=b"{not json", content_type="application/json"),
    dict(data=b"\xff\xfe\x00\x01" * 64, content_type="application/octet-stream"),
    dict(data="[1, 2, 3]", content_type="application/json"),
    dict(data="[" * 100_000, content_type="application/json"),
    dict(data='{"a": ' * 5_000 + "1" + "}" * 5_000, content_type="application/json"),
    dict(data='{"name": "a\\u0000b", "email": "x\\u0000@example.org", "reason": "\\u0000", "nonce": "nonce-00000001"}',
         content_type="application/json"),
    dict(data='{"code": {"a": [1]}, "nonce": 5, "people": "many", "client_time": 1e300, "ticket_id": -1}',
         content_type="application/json"),
]
#: JSON values for the door API's fields: wrong types, huge and negative numbers, nesting, long strings.
JSON_JUNK = [None, True, -1, 0, 2**31, 2**63, 10**40, -(2**70), 1e308, 0.5, "", "x" * 10_000, "\u0000", "ünï ✊🏽",
             [], [1, "a", None], {}, {"a": {"b": [1]}}, "2026-02-30T25:61:00Z", "1e999", "-1"]
API_KEYS = ["code", "nonce", "people", "client_time", "ticket_id", "force", "name", "email", "postal_code", "guests",
            "reason", "scan_id", "keep", "scans", "since", "offline", "device_verdict"]
QUERY_KEYS = ["page", "q", "state", "city", "since", "cursor", "lat", "lon", "radius", "unit", "start", "end",
              "from", "to", "limit", "door", "status", "sort", "sig", "rally", "after", "per_page", "before"]


def _junk_query(rng: random.Random) -> dict:
    return {rng.choice(QUERY_KEYS): rng.choice(JUNK_STRINGS) for _ in range(rng.randint(1, 4))}


def _junk_json(rng: random.Random) -> dict:
    body = {k: rng.choice(JSON_JUNK) for k in rng.sample(API_KEYS, rng.randint(1, 8))}
    if rng.random() < 0.5:  # offline uploads: a list of scans, each junk too
        body["scans"] = [{k: rng.choice(JSON_JUNK) for k in rng.sample(API_KEYS, 4)} for _ in range(rng.randint(0, 5))]
    if rng.random() < 0.5:
        body["nonce"] = f"nonce-{rng.randrange(10**9):09d}"  # get past the nonce check to the deeper fields
    return body


def _junk_form(rng: random.Random) -> dict:
    keys = ["name", "email", "phone", "postal_code", "guests", "title", "starts_at", "capacity", "timezone",
            "role", "lat", "lon", "device_name", "password", "reason", "people", "state", "visibility"]
    return {k: rng.choice(JUNK_STRINGS) for k in rng.sample(keys, rng.randint(1, 6))}


def _send(client, url, method, **kwargs):
    """One request, its body read to the end (a streamed export fails while streaming) and closed."""
    resp = client.open(url, method=method, **kwargs)
    resp.get_data()
    resp.close()
    return resp


def _fuzz(app, world, client, ids, rng, failures, relogin=None):
    values = {**string_values(world), **ids}
    headers = {"Authorization": f"Bearer {world.api_token}"}
    for rule in rules(app):
        if relogin:
            relogin()  # a junk POST may have logged out or ended the session
        methods = methods_of(rule)
        url = build(app, rule, values)
        if "GET" in methods and rule.endpoint != "static":
            for _ in range(3):
                resp = _send(client, url, "GET", query_string=_junk_query(rng), headers=headers if "/api/" in url else {})
                if resp.status_code >= 500:
                    failures.append(("GET", resp.request.url[:200], resp.status_code))
            for raw in RAW_QUERIES:
                resp = _send(client, url, "GET", query_string=raw.decode("ascii"))
                if resp.status_code >= 500:
                    failures.append(("GET", url, raw, resp.status_code))
        for method in sorted(methods & {"POST", "PUT", "PATCH", "DELETE"}):
            for body in JUNK_BODIES:
                resp = _send(client, url, method, headers=headers if "/api/" in url else {}, **body)
                if resp.status_code >= 500:
                    failures.append((method, url, body.get("content_type"), resp.status_code))
            resp = _send(client, url, method, data=_junk_form(rng))
            if resp.status_code >= 500:
                failures.append((method, url, "form", resp.status_code))
            if "/api/" in url:
                for _ in range(12):
                    body = _junk_json(rng)
                    resp = _send(client, url, method, headers=headers, json=body)
                    if resp.status_code >= 500:
                        failures.append((method, url, repr(body)[:300], resp.status_code))
        # Junk in the path itself: huge ids and odd strings.
        if set(rule.arguments) & ID_ARGS or set(rule.arguments) & {"slug", "token", "secret"}:
            junk = {k: rng.choice(JUNK_IDS) for k in ID_ARGS} | {
                k: rng.choice(["x" * 5000, "ünï", "%00", "-1", "A" * 43]) for k in ("slug", "token", "secret")}
            path_url = build(app, rule, {**values, **junk})
            method = "GET" if "GET" in methods else sorted(methods)[0]
            resp = _send(client, path_url, method, data={})
            if resp.status_code >= 500:
                failures.append((method, path_url[:120], "path", resp.status_code))


HUGE = ["99999999999999999999999", "9223372036854775808", "2147483648", "-9223372036854775809"]


def test_huge_numbers_in_paging_params_are_not_500(app, login):
    """Every route, each paging/cursor parameter set to numbers no database integer holds."""
    world = audit_world()
    client = app.test_client()
    login(client, world.owner_b)
    headers = {"Authorization": f"Bearer {world.api_token}"}
    failures = []
    for rule in rules(app, "GET"):
        if rule.endpoint == "static":
            continue
        url = build(app, rule, {**string_values(world), **world.ids_b})
        keys = ("page", "before", "since", "limit", "after", "cursor")
        # Each huge value in every key at once, then each key alone (so one key's 422 cannot hide another's 500).
        queries = [dict.fromkeys(keys, huge) for huge in HUGE] + [{key: HUGE[0]} for key in keys]
        for query in queries:
            resp = _send(client, url, "GET", query_string={**query, "q": "60607"}, headers=headers)
            if resp.status_code >= 500:
                failures.append((url, query, resp.status_code))
    assert not failures, failures


@pytest.mark.parametrize("who", ["anonymous", "owner"])
def test_no_route_answers_500_to_junk(app, login, who):
    """Every route, junk query strings, bodies and path values: always a 4xx or a page, never a 500."""
    world = audit_world()
    client = app.test_client()
    relogin = None
    if who == "owner":
        from rallies.extensions import db
        from rallies.models import User

        def relogin():
            db.session.expire_all()
            login(client, db.session.get(User, world.owner_b.id))

    rng = random.Random(20261127)
    failures: list = []
    _fuzz(app, world, client, world.ids_b, rng, failures, relogin)
    assert not failures, failures


#: Raw (already percent-encoded) path segments: a NUL, an over-long value, bytes that are not UTF-8, and an
#: encoded lone surrogate (UTF-8 forbids it). Each goes into one path parameter of every route at a time.
RAW_PATH_JUNK = ["x%00y", "%00", "x" * 5000, "%FF%FE", "a%FFb", "%ED%A0%80", "x%ED%A0%80y", "%C0%AF", "A" * 42 + "%00"]
_SENTINEL_ID = 987654321


@pytest.mark.parametrize("who", ["anonymous", "owner"])
def test_junk_in_any_path_parameter_is_a_4xx(app, login, who):
    """Issue 9, item 15: every route, each path parameter in turn set to NUL, over-long, non-UTF-8 or
    lone-surrogate bytes, with every method the route takes: a 4xx, never a 500."""
    world = audit_world()
    client = app.test_client()
    if who == "owner":
        login(client, world.owner_b)
    values = {**string_values(world), **world.ids_b, "invite_token": None}  # build() would put a real invite in
    failures = []
    for rule in rules(app):
        for arg in sorted(rule.arguments):
            is_id = arg in ID_ARGS or rule._converters[arg].__class__.__name__ == "IdConverter"
            marker = _SENTINEL_ID if is_id else "JUNKMARKER"
            url = build(app, rule, {**values, arg: marker})
            assert str(marker) in url, (rule.rule, arg)
            for raw in RAW_PATH_JUNK:
                path = url.replace(str(marker), raw, 1)
                for method in sorted(methods_of(rule)):
                    resp = _send(client, path, method, data={})
                    if not 400 <= resp.status_code < 500:
                        failures.append((method, rule.rule, arg, raw[:20], resp.status_code))
    assert not failures, "\n".join(map(str, failures))
