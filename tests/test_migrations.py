"""Migrations build the whole schema from an empty database, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from config import TestingConfig
from rallies import create_app
from rallies.extensions import db

pytestmark = pytest.mark.slow


def _head(app) -> str:
    """The newest revision in the migrations folder."""
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_current_head()


@pytest.fixture
def migrated_app(empty_database):
    """An app whose schema was made by `flask db upgrade` alone (no create_all)."""
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=empty_database)
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_upgrade_from_empty_reaches_head(migrated_app):
    with migrated_app.app_context():
        version = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        tables = set(db.inspect(db.engine).get_table_names())
    assert version == _head(migrated_app)
    assert {t.name for t in db.metadata.sorted_tables} <= tables


# While several people add columns the models run ahead of the one migration, and this fails with
# the list of differences; that is its job. Once the migration is regenerated it must pass, and from
# then on any model change without a migration fails here. `-m "not schema_sync"` skips it meanwhile.
@pytest.mark.schema_sync
def test_migrated_schema_matches_models(migrated_app):
    with migrated_app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        diffs = compare_metadata(context, db.metadata)
    assert not diffs, "models differ from the migrations (run `flask db migrate`):\n" + "\n".join(map(repr, diffs))


SEALING_REVISION = "5e11ed7a0c13"


def test_sealing_migration_keeps_old_tickets_working(empty_database):
    """Issue 9, item 13: a raw signing key and a raw ticket token written before the sealing revision
    come out sealed and hashed, and the old ticket link and code still work after it."""
    import secrets
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from rallies.rsvp import tickets

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=empty_database)
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
    before = ScriptDirectory.from_config(config).get_revision(SEALING_REVISION).down_revision
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade", before])
    assert result.exit_code == 0, result.output + repr(result.exception)
    private = Ed25519PrivateKey.generate()
    raw_key = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with app.app_context():
        meta = sa.MetaData()
        meta.reflect(db.engine, only=["campaign", "rally", "rsvp"])
        with db.engine.begin() as conn:
            conn.execute(meta.tables["campaign"].insert().values(id=1, name="Old", created_at=now))
            rally_values = {c.name: (0 if isinstance(c.type, sa.Integer | sa.Boolean) else "") for c in meta.tables["rally"].c
                            if not c.nullable}
            rally_values.update(id=1, campaign_id=1, slug="old-rally", title="Old rally", timezone="America/Chicago",
                                starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=2, hours=2),
                                created_at=now, updated_at=now, visibility="listed", status="scheduled",
                                max_guests=2, country="US", geo_precision="none", signing_key=raw_key, public_key=public)
            conn.execute(meta.tables["rally"].insert().values(**rally_values))
            rsvp_values = {c.name: (0 if isinstance(c.type, sa.Integer | sa.Boolean) else "")
                           for c in meta.tables["rsvp"].c if not c.nullable}
            rsvp_values.update(id=7, rally_id=1, token=token, name="Ana López", email="ana@example.org",
                               status="going", is_walkin=False, opt_in=False, status_at=now, created_at=now,
                               updated_at=now)
            conn.execute(meta.tables["rsvp"].insert().values(**rsvp_values))
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    with app.app_context():
        with db.engine.connect() as conn:
            stored_key = bytes(conn.execute(sa.text("SELECT signing_key FROM rally WHERE id = 1")).scalar_one())
            row = conn.execute(sa.text("SELECT * FROM rsvp WHERE id = 7")).mappings().one()
        assert raw_key not in stored_key and len(stored_key) > 32
        assert token not in [v for v in row.values() if isinstance(v, str)]
        assert tickets.make_code(raw_key, 1, 7) == tickets.code_for(1, stored_key, 7)  # same code as before
        page = app.test_client().get(f"/t/{token}")
        assert page.status_code == 200 and "Ana" in page.get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()
    result = runner.invoke(args=["db", "downgrade", before])  # and back: raw again, nothing lost
    assert result.exit_code == 0, result.output + repr(result.exception)
    with app.app_context(), db.engine.connect() as conn:
        assert bytes(conn.execute(sa.text("SELECT signing_key FROM rally WHERE id = 1")).scalar_one()) == raw_key
        assert conn.execute(sa.text("SELECT token FROM rsvp WHERE id = 7")).scalar_one() == token
    with app.app_context():
        db.engine.dispose()
