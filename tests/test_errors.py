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


# Issue 9 item 18: a database that cannot be reached is a 503 with Retry-After, never a 500.

UNREACHABLE = {
    # Nothing listens on port 1: psycopg's connect fails with OperationalError (connection refused).
    "postgresql": "postgresql://postgres@127.0.0.1:1/rallies?connect_timeout=2",
    # A file in a directory that does not exist: sqlite3 "unable to open database file".
    "sqlite": "sqlite:////nonexistent-rallies-dir/sub/rallies.sqlite3",
}


@pytest.fixture(params=sorted(UNREACHABLE))
def down_client(request):
    """A client of an app whose database cannot be reached (each engine's real failure)."""
    from config import TestingConfig
    from rallies import create_app

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=UNREACHABLE[request.param])
    return app.test_client()


@pytest.mark.parametrize("path", ["/", "/r/some-rally", "/r/some-rally/rsvp", "/about"])
def test_database_down_page_is_a_friendly_503(down_client, path):
    resp = down_client.get(path)
    if resp.status_code != 503:  # a page that needs no database must simply work
        assert resp.status_code < 500, path
        return
    assert resp.headers["Retry-After"].isdigit()
    assert resp.mimetype == "text/html"
    assert b"temporarily" in resp.data and b"Traceback" not in resp.data


def test_database_down_pages_that_read_data_say_503(down_client):
    for path in ("/", "/r/some-rally"):
        resp = down_client.get(path)
        assert resp.status_code == 503, path
        assert int(resp.headers["Retry-After"]) > 0


@pytest.mark.parametrize("method,path", [
    ("GET", "/door/1/api/status"), ("POST", "/door/1/api/checkin"), ("GET", "/api/v1/door/status"),
    ("GET", "/r/some-rally"),  # a page, but the client asks for JSON
])
def test_database_down_json_api_is_a_503_error_object(down_client, method, path):
    headers = {"Authorization": "Bearer " + "x" * 43, "Accept": "application/json"}
    resp = down_client.open(path, method=method, headers=headers, json={"code": "abc"})
    assert resp.status_code == 503, resp.data[:300]
    assert resp.headers["Retry-After"].isdigit()
    error = resp.get_json()["error"]
    assert error["code"] == "database_unavailable" and error["message"]


def test_database_down_post_form_is_a_503(down_client):
    resp = down_client.post("/auth/login", data={"email": "a@example.org", "password": "whatever pass"})
    assert resp.status_code == 503 and resp.headers["Retry-After"]


def test_database_down_healthz_names_the_database(down_client):
    resp = down_client.get("/healthz")
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    body = resp.get_json()
    assert body["status"] == "down" and body["database"] == "down" and body["down"] == ["database"]


def test_programming_errors_stay_500(app_factory):
    """Only an unreachable database is a 503: a bad query is still a bug, logged as a 500."""
    import sqlalchemy as sa

    from rallies.extensions import db

    app = app_factory()

    @app.get("/_bad_sql")
    def bad_sql():
        db.session.execute(sa.text("SELECT no_such_column FROM no_such_table"))

    resp = app.test_client().get("/_bad_sql")
    assert resp.status_code == 500


def test_error_logs_name_the_route_never_the_secret_in_the_path(app, caplog):
    # Paths carry ticket tokens and door secrets; a crash must not copy them into the logs.
    def boom(token):
        raise RuntimeError("boom")

    app.add_url_rule("/t/<token>/boom", "boom", boom)
    secret = "s3cr3t-ticket-token-value-0123456789abcdef"
    with caplog.at_level("ERROR"):
        resp = app.test_client().get(f"/t/{secret}/boom")
    assert resp.status_code == 500
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "/t/<token>/boom" in logged
    assert secret not in logged
