"""The app skeleton: factory, config safety, health, errors and security headers."""

import pytest

from config import Config
from rallies import create_app


def test_refuses_dev_secret_key_outside_debug(monkeypatch):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Config, SQLALCHEMY_DATABASE_URI="sqlite://")


def test_healthz_ok(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": "ok", "outbox": "ok"}


def test_healthz_names_a_rate_limit_storage_that_is_down(app_factory):
    # Nothing listens on port 1: the shared Redis is unreachable while the database is fine.
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    body = resp.get_json()
    assert body["database"] == "ok" and body["rate_limit_storage"] == "down" and body["down"] == ["rate_limit_storage"]


def test_healthz_reports_an_outbox_backlog_without_failing(app):
    from datetime import timedelta

    import sqlalchemy as sa

    from rallies.database import atomic
    from rallies.extensions import db
    from rallies.mail import delivery
    from rallies.models import OutboxMessage, utcnow

    with atomic():
        delivery.queue_email("test", "late@example.org", "Hi", "<p>Hi</p>", "Hi")
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200 and resp.get_json()["outbox"] == "ok"
    with atomic():
        db.session.execute(sa.update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(hours=1)))
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200 and resp.get_json()["outbox"] == "backlog"


def test_healthz_reports_database_down(app_factory):
    app = app_factory()
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {}
    from rallies.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    # Point the engine at a file in a directory that does not exist.
    bad = create_app(
        __import__("config").TestingConfig,
        SQLALCHEMY_DATABASE_URI="sqlite:////nonexistent-dir/x/y.sqlite3",
    )
    resp = bad.test_client().get("/healthz")
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    assert resp.get_json()["database"] == "down"


def test_404_page_and_json(client):
    resp = client.get("/no-such-page")
    assert resp.status_code == 404
    assert b"Page not found" in resp.data
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"


def test_405(client):
    resp = client.put("/healthz")
    assert resp.status_code == 405


def test_security_headers(client):
    resp = client.get("/")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in resp.headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    assert resp.headers["Referrer-Policy"]


def test_sqlite_pragmas(app):
    from sqlalchemy import text

    from rallies.extensions import db

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_session_cookies_survive_a_key_rotation(app_factory, make_user, login):
    # A rotated key is still honoured through SECRET_KEY_FALLBACKS; a cookie signed with an unknown key is refused.
    old = app_factory(SECRET_KEY="old-key-" + "x" * 24)
    client = old.test_client()
    login(client, make_user(email="rotate@example.org"))
    assert client.get("/auth/campaigns").status_code == 200
    cookie = client.get_cookie("session").value
    for keys, expect in (((), 302), (("old-key-" + "x" * 24,), 200)):
        new = app_factory(SECRET_KEY="new-key-" + "y" * 24, SECRET_KEY_FALLBACKS=list(keys))
        fresh = new.test_client()
        fresh.set_cookie("session", cookie)
        assert fresh.get("/auth/campaigns").status_code == expect


# Issue 9 item 17: HSTS on HTTPS responses behind the proxy, never on plain HTTP.

HTTPS_VIA_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
HTTP = "http://localhost"  # the test client's default scheme is PREFERRED_URL_SCHEME (https)


def test_hsts_on_https_behind_the_proxy(app_factory):
    app = app_factory(PROXY_FIX_HOPS=1)
    resp = app.test_client().get("/healthz", base_url=HTTP, headers=HTTPS_VIA_PROXY)
    assert resp.headers["Strict-Transport-Security"] == "max-age=31536000"
    resp = app.test_client().get("/no-such-page", base_url=HTTP, headers=HTTPS_VIA_PROXY)
    assert resp.status_code == 404 and "max-age=31536000" in resp.headers["Strict-Transport-Security"]


def test_no_hsts_on_plain_http(app_factory):
    app = app_factory(PROXY_FIX_HOPS=1)
    assert "Strict-Transport-Security" not in app.test_client().get("/healthz", base_url=HTTP).headers
    # Without a trusted proxy a forged X-Forwarded-Proto changes nothing.
    app = app_factory(PROXY_FIX_HOPS=0)
    resp = app.test_client().get("/healthz", base_url=HTTP, headers=HTTPS_VIA_PROXY)
    assert "Strict-Transport-Security" not in resp.headers


def test_hsts_is_configurable_and_zero_turns_it_off(app_factory):
    app = app_factory(PROXY_FIX_HOPS=1, HSTS_SECONDS=600, HSTS_INCLUDE_SUBDOMAINS=True, HSTS_PRELOAD=True)
    resp = app.test_client().get("/healthz", base_url=HTTP, headers=HTTPS_VIA_PROXY)
    assert resp.headers["Strict-Transport-Security"] == "max-age=600; includeSubDomains; preload"
    app = app_factory(PROXY_FIX_HOPS=1, HSTS_SECONDS=0)
    resp = app.test_client().get("/healthz", base_url=HTTP, headers=HTTPS_VIA_PROXY)
    assert "Strict-Transport-Security" not in resp.headers


def test_healthz_on_an_unmigrated_database_is_a_503_not_a_500():
    from config import TestingConfig

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://")  # reachable, but no tables
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503 and resp.get_json()["down"] == ["outbox"]


def test_rate_limit_storage_down_falls_back_instead_of_failing(app_factory):
    # Redis unreachable (nothing listens on port 1): pages and rate-limited forms still answer.
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert client.post("/auth/login", data={}).status_code < 500


def test_json_answers_get_the_api_policy(client):
    resp = client.get("/healthz")
    assert resp.mimetype == "application/json"
    assert resp.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
