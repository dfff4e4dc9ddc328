"""Shared fixtures. Tests run on SQLite by default, or on PostgreSQL when TEST_DATABASE_URL says so.

PostgreSQL: each xdist worker gets its own database (created on first use); tables are
created once per worker and truncated between tests. SQLite: one file per test, a copy of a
file whose schema was built once per session.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from config import TestingConfig
from rallies import create_app
from rallies.extensions import db
from tests import factories

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
IS_PG = PG_URL.startswith("postgres")


def _worker_pg_url(worker: str) -> str:
    """A database of this worker's own on the same server, created if missing."""
    import psycopg

    url = make_url(PG_URL.replace("postgresql+psycopg://", "postgresql://"))
    name = f"{url.database}_{worker}" if worker != "master" else url.database
    admin = url.set(database="postgres", drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(worker_id):
    """The session's PostgreSQL URL (None on SQLite, where each test gets its own file)."""
    if not IS_PG:
        return None
    return _worker_pg_url(worker_id)


@pytest.fixture(scope="session")
def _pg_schema(database_url):
    if not database_url:
        return
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()
        db.engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_schema(database_url, tmp_path_factory):
    """On SQLite, a database file with every table and no rows, built once; each test copies it."""
    if database_url:
        return None
    path = tmp_path_factory.mktemp("schema") / "empty.sqlite3"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        db.create_all()
        # Closing the last connection checkpoints the WAL into the file, so the file alone is complete.
        db.engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """The URL of a database with no tables at all: a new SQLite file, or a throw-away PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    if not IS_PG:
        pytest.skip("TEST_DATABASE_URL is not set; the PostgreSQL half needs a server")
    import psycopg

    url = make_url(PG_URL.replace("postgresql+psycopg://", "postgresql://"))
    name = f"rallies_migrate_{uuid.uuid4().hex[:12]}"
    admin = url.set(database="postgres", drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def app_factory(database_url, _pg_schema, _sqlite_schema, tmp_path):
    """Build an app on the test database with config overrides; tables ready and empty."""
    made = []
    sqlite_file = tmp_path / "test.sqlite3"

    def factory(**overrides):
        uri = database_url or f"sqlite:///{sqlite_file}"
        overrides.setdefault("SQLALCHEMY_DATABASE_URI", uri)
        copied = not made and not database_url and overrides["SQLALCHEMY_DATABASE_URI"] == uri
        if copied:
            shutil.copyfile(_sqlite_schema, sqlite_file)
        app = create_app(TestingConfig, **overrides)
        # Tests keep an app context pushed, so requests reuse it and its flask.g. Start each request
        # with an empty g, as in production; otherwise Flask-Login's cached user leaks between clients.
        app.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_globals)
        app.instance_path = str(tmp_path / "instance")
        os.makedirs(app.instance_path, exist_ok=True)
        with app.app_context():
            if not made:
                if database_url:
                    _truncate_all()
                elif not copied:
                    db.create_all()
        made.append(app)
        return app

    yield factory
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _fresh_request_globals() -> None:
    from flask import g

    g.__dict__.clear()


def _truncate_all() -> None:
    names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def app(app_factory):
    """The app with a pushed app context (tests may use db.session directly)."""
    app = app_factory()
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def campaign(app):
    """A campaign whose owner is a fresh organizer (the rule tests' usual starting point)."""
    return factories.campaign_of(factories.make_user())


@pytest.fixture
def make_user(app):
    """factories.make_user, in the app's context."""
    return factories.make_user


@pytest.fixture
def make_rally(app):
    """factories.make_rally, in the app's context."""
    return factories.make_rally


@pytest.fixture
def login():
    """login(client, user): put the user in the client's session, as Flask-Login would."""

    def do(client, user):
        with client.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
        return user

    return do


# --- Live server and Chromium -------------------------------------------------------------


@pytest.fixture
def live_server(app_factory):
    """The app served over real HTTP on 127.0.0.1 in a thread; yields its base URL."""
    from werkzeug.serving import make_server

    app = app_factory()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.app = app
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    thread.join(5)


def chromium_path() -> str | None:
    """Debian's chromium, or CHROMIUM_PATH."""
    import shutil

    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def playwright_instance():
    path = chromium_path()
    if not path:
        if os.environ.get("RALLIES_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (RALLIES_REQUIRE_BROWSER is set) but was not found")
        pytest.skip("Chromium not installed (apt-get install chromium); browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture
def launch_browser(playwright_instance):
    """launch_browser(extra_args=[...]) -> Browser; closed after the test."""
    browsers = []

    def launch(extra_args=()):
        browser = playwright_instance.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS + list(extra_args)
        )
        browsers.append(browser)
        return browser

    yield launch
    for b in browsers:
        b.close()


@pytest.fixture
def page(launch_browser):
    """A fresh page in headless Chromium."""
    browser = launch_browser()
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()
