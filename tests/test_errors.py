"""Error pages and JSON errors for the codes the skeleton promises (400, 403, 404, 405, 429, 500)."""

from __future__ import annotations

import logging

import pytest
from flask import abort

from config import Config


@pytest.fixture
def failing_app(app_factory):
    """The app plus routes that fail on purpose, in HTML and under /api/."""
    app = app_factory()

    @app.get("/_boom")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    @app.get("/api/_boom")
    def api_boom():
        raise RuntimeError("secret internals")

    @app.get("/_forbidden")
    def forbidden():
        abort(403)

    return app


def test_500_page_hides_the_exception(failing_app, caplog):
    with caplog.at_level(logging.ERROR):
        resp = failing_app.test_client().get("/_boom")
    assert resp.status_code == 500
    assert "Something went wrong" in resp.text
    assert "hunter2" not in resp.text and "RuntimeError" not in resp.text
    assert any("Unhandled error on GET /_boom" in r.getMessage() for r in caplog.records)


def test_500_json_under_api(failing_app):
    resp = failing_app.test_client().get("/api/_boom")
    assert resp.status_code == 500
    assert resp.get_json()["error"]["code"] == "server_error"
    assert "secret" not in resp.text


def test_403_page(failing_app):
    resp = failing_app.test_client().get("/_forbidden")
    assert resp.status_code == 403
    assert "Not allowed" in resp.text


def test_400_json_when_json_is_wanted(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    resp = app.test_client().post("/auth/login", headers={"Accept": "application/json"})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "csrf_failed"


def test_429_page_says_when_to_retry(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_AUTH="1 per minute")
    client = app.test_client()
    with app.app_context():
        client.post("/auth/forgot", data={"email": "a@example.org"})
        resp = client.post("/auth/forgot", data={"email": "a@example.org"})
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) > 0
    assert "Too many requests" in resp.text


def test_production_session_cookie_is_secure(tmp_path):
    from rallies import create_app
    from rallies.extensions import db

    app = create_app(Config, SECRET_KEY="a-real-secret-for-this-test-only-0123456789",
                     TICKET_KEK="YS1yZWFsLWtlay1mb3ItdGhpcy10ZXN0LW9ubHktMDE=",
                     SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'prod.sqlite3'}")
    with app.app_context():
        db.create_all()
        resp = app.test_client().get("/auth/login")  # the CSRF token lives in the session
        db.engine.dispose()
    cookie = resp.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
