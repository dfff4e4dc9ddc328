"""Engine set-up shared by both engines, and the write-transaction helper.

SQLite: WAL, foreign keys and a busy timeout on every connection. Write units run
under ``BEGIN IMMEDIATE`` so concurrent writers queue on the lock instead of failing
with "database is locked" when a read snapshot tries to upgrade. PostgreSQL needs
none of this: services use conditional UPDATEs or row locks.

Stale connections (PostgreSQL restarted, a proxy dropped an idle socket): SQLAlchemy's
``pool_pre_ping`` tests each connection as it is checked out and replaces a dead one, and
``pool_recycle`` (``DB_POOL_RECYCLE_SECONDS``) retires connections before a proxy's idle
timeout can cut them. A server lost in the middle of a request still fails that request (503).
"""

from __future__ import annotations

import contextvars
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, exc
from sqlalchemy import literal_column as _literal
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import func
from sqlalchemy.sql.functions import FunctionElement

from .extensions import db
from .models.types import UTCDateTime

_immediate = contextvars.ContextVar("sqlite_immediate", default=False)
_busy_timeout_ms = 30000


def sqlite_url(instance_path: str) -> str:
    """The default database: a file in the instance folder."""
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(instance_path) / 'rallies.sqlite3'}"


def configure_engine_options(app) -> None:
    """Engine options that depend on the URL (called before db.init_app)."""
    global _busy_timeout_ms
    _busy_timeout_ms = app.config.get("SQLITE_BUSY_TIMEOUT_MS", 30000)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://"):
        uri = "postgresql://" + uri[len("postgres://"):]
    if uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri[len("postgresql://"):]
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        options.setdefault("connect_args", {})["check_same_thread"] = False
        options.pop("pool_pre_ping", None)
    else:
        options.setdefault("pool_pre_ping", True)
        options.setdefault("pool_recycle", int(app.config.get("DB_POOL_RECYCLE_SECONDS", 1800)))
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_conn, _record):
    if not isinstance(dbapi_conn, sqlite3.Connection):
        return
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is wrong for us).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={int(_busy_timeout_ms)}")
    cur.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


#: SQLite result codes that mean the file cannot be used right now (not a bad query: that is SQLITE_ERROR).
_SQLITE_UNAVAILABLE = ("SQLITE_CANTOPEN", "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_FULL",
                       "SQLITE_READONLY", "SQLITE_PROTOCOL", "SQLITE_NOTADB")
#: PostgreSQL SQLSTATE classes: connection exception, insufficient resources (e.g. too many
#: connections), operator intervention (shutdown, cannot connect now); 57014 (statement timeout) is not.
_PG_UNAVAILABLE = ("08", "53", "57P")


def database_unavailable(error: BaseException) -> bool:
    """True when an error means the database cannot be reached or used right now, never for a bad query.

    Connection refused, a server that went away, an unopenable or locked SQLite file, an exhausted pool:
    a 503 and a retry will help. A missing table, a constraint or a typo in SQL are bugs and stay 500s.
    """
    if isinstance(error, (exc.TimeoutError, exc.DisconnectionError)):
        return True  # the pool is exhausted, or a connection died on checkout
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    orig = error.orig
    if isinstance(orig, sqlite3.Error):
        return getattr(orig, "sqlite_errorname", "").startswith(_SQLITE_UNAVAILABLE)
    sqlstate = getattr(orig, "sqlstate", "")
    if sqlstate is None:
        # psycopg reports a failed connect or a dropped connection with no SQLSTATE (the server never said).
        return isinstance(error, exc.OperationalError)
    return bool(sqlstate) and sqlstate.startswith(_PG_UNAVAILABLE)


#: The INSERT construct of each dialect: both have ``on_conflict_do_nothing``/``do_update`` and ``excluded``.
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite_dialect.insert}


def insert(table):
    """An INSERT for the session's engine that has ``on_conflict_do_nothing``/``do_update`` and ``excluded``."""
    return _INSERTS[db.session.get_bind().dialect.name](table)


class utc_minute(FunctionElement):  # noqa: N801 - used like sa.func.*
    """The UTC minute a stored moment falls in, in SQL (``counters.minute_of``), to group rows by minute."""

    type = UTCDateTime()
    name = "utc_minute"
    inherit_cache = True


# Literal arguments, not bound ones: PostgreSQL must see the same expression in SELECT and GROUP BY.
@compiles(utc_minute, "sqlite")
def _utc_minute_sqlite(element, compiler, **kw):
    return compiler.process(func.strftime(_literal("'%Y-%m-%d %H:%M:00'"), *element.clauses), **kw)


@compiles(utc_minute, "postgresql")
def _utc_minute_postgresql(element, compiler, **kw):
    return compiler.process(func.date_trunc(_literal("'minute'"), func.timezone(_literal("'UTC'"), *element.clauses)),
                            **kw)


def is_sqlite() -> bool:
    """True when the bound engine is SQLite."""
    return db.engine.dialect.name == "sqlite"


@contextmanager
def atomic():
    """Run one write unit and commit it; roll back on any error.

    On SQLite a read transaction already open is ended first, so the write starts
    with BEGIN IMMEDIATE and never fails to upgrade its lock. PostgreSQL carries on in
    the open transaction (READ COMMITTED; services lock or update rows conditionally).
    """
    session = db.session()
    if session.in_transaction() and session.get_bind().dialect.name == "sqlite":
        session.commit()
    token = _immediate.set(True)
    try:
        session.connection()  # begin now, while the flag is set
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _immediate.reset(token)


@contextmanager
def standby_writer():
    """Yield ``write(statement, parameters=None) -> rowcount``: single-statement writes that commit at once, on a
    connection checked out (and pre-pinged) now.

    For a write that must land the instant something outside the database happens (the mail
    server's 250): the pool checkout is done beforehand, and on PostgreSQL the statement runs in
    autocommit, one round trip with no BEGIN or COMMIT. On SQLite it is one local BEGIN IMMEDIATE
    transaction, which waits only while another writer holds the lock.
    """
    engine = db.engine
    sqlite = engine.dialect.name == "sqlite"
    conn = engine.connect() if sqlite else engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def write(statement, parameters=None) -> int:
        if not sqlite:
            return conn.execute(statement, parameters).rowcount
        token = _immediate.set(True)
        try:
            rowcount = conn.execute(statement, parameters).rowcount
            conn.commit()
            return rowcount
        except BaseException:
            conn.rollback()
            raise
        finally:
            _immediate.reset(token)

    try:
        yield write
    finally:
        conn.close()
