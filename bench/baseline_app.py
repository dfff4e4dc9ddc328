"""Baseline app: the floor of this stack, measured on the same database as the project.

A minimal Flask + Flask-SQLAlchemy app with the project's engine set-up (the same
SQLite pragmas, BEGIN IMMEDIATE via ``atomic()``, psycopg on PostgreSQL), so a
benchmark can say "Rallies does X req/s where the bare stack does Y" in one run.

    gunicorn -w 2 -k sync bench.baseline_app:app      (env DATABASE_URL; tables from init_baseline)

GET  /hello          static text: Flask + gunicorn alone
POST /insert         one INSERT into bench_item
POST /select-update  {"secret": s}: one indexed SELECT (FOR UPDATE on PostgreSQL) + one UPDATE on
                     bench_ticket, the check-in ceiling. 200 {"status":"ok"} | 400 already_redeemed
                     | 404 invalid, as in the pretix anchor's Flask + SQLite baseline.
GET  /static-page    a static page rendered through Jinja (no database)
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, jsonify, render_template, request

from config import Config
from rallies.database import atomic, configure_engine_options, sqlite_url
from rallies.extensions import db
from rallies.models.types import UTCDateTime, utcnow

HERE = Path(__file__).resolve().parent

# Own metadata: the bench tables never join the project's schema or migrations.
metadata = sa.MetaData()
bench_item = sa.Table(
    "bench_item", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)
bench_ticket = sa.Table(
    "bench_ticket", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("secret", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("checked_in_at", UTCDateTime),
)


def create_baseline_app(database_url: str | None = None) -> Flask:
    """The baseline app on DATABASE_URL (or the project's default SQLite file)."""
    app = Flask(__name__, template_folder=str(HERE / "templates"), instance_path=str(HERE.parent / "instance"))
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url or os.environ.get("DATABASE_URL") or sqlite_url(
        app.instance_path)
    # The project's engine options (idle-connection ping, busy timeout), normalised the project's way.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = dict(Config.SQLALCHEMY_ENGINE_OPTIONS)
    app.config["SQLITE_BUSY_TIMEOUT_MS"] = Config.SQLITE_BUSY_TIMEOUT_MS
    configure_engine_options(app)
    db.init_app(app)

    @app.get("/hello")
    def hello():
        """Static text: the cost of Flask and gunicorn alone."""
        return "hello", 200, {"Content-Type": "text/plain; charset=utf-8"}

    @app.post("/insert")
    def insert():
        """One INSERT in one write transaction."""
        name = (request.get_json(silent=True) or {}).get("name") or request.form.get("name") or "item"
        with atomic() as session:
            session.execute(bench_item.insert().values(name=str(name)[:80], created_at=utcnow()))
        return jsonify(status="ok"), 201

    @app.post("/select-update")
    def select_update():
        """Redeem a ticket: indexed SELECT (row-locked) then UPDATE, in one write transaction."""
        secret = str((request.get_json(silent=True) or {}).get("secret", ""))
        with atomic() as session:
            row = session.execute(
                sa.select(bench_ticket.c.id, bench_ticket.c.checked_in_at)
                .where(bench_ticket.c.secret == secret).with_for_update()
            ).first()
            if row is None:
                return jsonify(status="error", reason="invalid"), 404
            if row.checked_in_at is not None:
                return jsonify(status="error", reason="already_redeemed"), 400
            session.execute(bench_ticket.update().where(bench_ticket.c.id == row.id).values(checked_in_at=utcnow()))
        return jsonify(status="ok"), 200

    @app.get("/static-page")
    def static_page():
        """A static page through Jinja: the floor for any rendered page."""
        return render_template("static_page.html")

    return app


def _engine(database_url: str) -> sa.Engine:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    configure_engine_options(app)
    return sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])


def init_baseline(database_url: str, tickets: int = 20000) -> list[str]:
    """(Re)create the bench tables on this database and seed `tickets` tickets; return their secrets."""
    engine = _engine(database_url)
    try:
        metadata.drop_all(engine)
        metadata.create_all(engine)
        codes = [secrets.token_hex(16) for _ in range(tickets)]
        with engine.begin() as conn:
            if codes:
                conn.execute(bench_ticket.insert(), [{"secret": c, "name": f"Supporter {i}"}
                                                     for i, c in enumerate(codes)])
        return codes
    finally:
        engine.dispose()


def reset_tickets(database_url: str, *, checked_in: bool = False) -> None:
    """Mark every bench ticket as not checked in (between runs), or as checked in (for repeat scans)."""
    engine = _engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(bench_ticket.update().values(checked_in_at=utcnow() if checked_in else None))
    finally:
        engine.dispose()


app = create_baseline_app()
