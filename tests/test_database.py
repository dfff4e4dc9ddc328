"""Engine plumbing: pooled connections the server dropped (PostgreSQL only)."""

from __future__ import annotations

import os

import psycopg
import pytest
from sqlalchemy import text

from rallies.extensions import db

# Not imported from conftest: tests/<domain>/conftest.py files would shadow the name.
IS_PG = os.environ.get("TEST_DATABASE_URL", "").startswith("postgres")

pytestmark = pytest.mark.skipif(not IS_PG, reason="server connections only exist on PostgreSQL")


def _kill_other_backends(app) -> int:
    """Terminate every other connection to the test database, as a server restart would."""
    with app.app_context():
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        return len(conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall())


def _pool_one_connection(app):
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.remove()  # back to the pool, idle


def test_engine_uses_pre_ping_and_recycle(app_factory):
    app = app_factory(DB_POOL_RECYCLE_SECONDS=600)
    with app.app_context():
        assert db.engine.pool._pre_ping is True
        assert db.engine.pool._recycle == 600


def test_dead_pooled_connection_is_replaced_without_failing_a_request(app_factory):
    app = app_factory()
    _pool_one_connection(app)
    assert _kill_other_backends(app) >= 1
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"status": "ok", "database": "ok", "outbox": "ok"}


def test_without_the_ping_a_dead_connection_fails_one_request(app_factory):
    # The counterpart that shows pre-ping is what saves the request above.
    app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": False})
    _pool_one_connection(app)
    assert _kill_other_backends(app) >= 1
    assert app.test_client().get("/healthz").status_code == 503
    assert app.test_client().get("/healthz").status_code == 200  # the pool reconnected


def test_server_gone_mid_request_is_a_503_not_a_500(app_factory):
    """Issue 9 item 18: a connection the server dropped during a request fails it with a 503 and Retry-After."""
    app = app_factory()

    def lose_the_server():
        db.session.execute(text("SELECT 1"))  # the request holds its connection now
        _kill_other_backends(app)
        db.session.execute(text("SELECT 1"))
        return "unreachable"

    app.add_url_rule("/_test/lose-server", view_func=lose_the_server)
    resp = app.test_client().get("/_test/lose-server")
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    assert app.test_client().get("/").status_code == 200  # the pool reconnected
