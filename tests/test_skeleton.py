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
    assert resp.get_json() == {"status": "ok", "database": "ok"}


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
    assert resp.status_code == 503
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
