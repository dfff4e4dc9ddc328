"""Engine plumbing: the idle-connection ping and autocommit reads (PostgreSQL only)."""

from __future__ import annotations

import psycopg
import pytest
from conftest import IS_PG
from sqlalchemy import text

from rallies.database import read_one
from rallies.extensions import db

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


def test_idle_dead_connection_is_replaced(app_factory):
    app = app_factory(DB_PING_AFTER_SECONDS=0)
    _pool_one_connection(app)
    assert _kill_other_backends(app) >= 1
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"status": "ok", "database": "ok", "outbox": "ok"}


def test_recently_used_connection_is_not_pinged(app_factory):
    # The counterpart that shows the ping is what saves the request above: a connection used a
    # moment ago is trusted, so a server-side kill right after surfaces as one failed request.
    app = app_factory(DB_PING_AFTER_SECONDS=3600)
    _pool_one_connection(app)
    assert _kill_other_backends(app) >= 1
    assert app.test_client().get("/healthz").status_code == 503
    assert app.test_client().get("/healthz").status_code == 200  # the pool reconnected


def test_read_one_leaves_no_transaction_open(app_factory):
    app = app_factory()
    with app.app_context():
        row = read_one(text("SELECT 41 + 1 AS answer"), {})
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        # Asked while the request's context is still open: a session read would sit in a transaction here.
        with psycopg.connect(url, autocommit=True) as conn:
            idle_in_tx = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%'").fetchone()[0]
    assert row.answer == 42
    assert idle_in_tx == 0


def test_server_gone_mid_request_is_a_503_not_a_500(app_factory):
    """Issue 9 item 18: a connection the server dropped fails the request with a 503 and Retry-After."""
    app = app_factory(DB_PING_AFTER_SECONDS=3600)
    _pool_one_connection(app)
    assert _kill_other_backends(app) >= 1
    resp = app.test_client().get("/")
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    assert app.test_client().get("/").status_code == 200  # the pool reconnected
