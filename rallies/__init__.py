"""Rallies: RSVPs, QR tickets, door check-in and turnout for political rallies."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from flask import Flask

from config import DEV_SECRET_KEY, DEV_TICKET_KEK, Config

ROOT = Path(__file__).resolve().parent.parent


#: The modules whose routes register on their domain's blueprint when imported.
VIEW_MODULES = (
    "auth.views", "auth.campaigns", "rallies.public", "rallies.organize", "rsvp.public", "rsvp.ticket_pages",
    "rsvp.organize", "rsvp.supporter_pages", "door.views", "door.manage", "door.api", "turnout.views", "turnout.api", "i18n",
    "messaging.views", "messaging.preference_pages", "sms.webhook", "volunteers.views", "volunteers.organize",
)


def create_app(config: type[Config] | None = None, **overrides) -> Flask:
    """Build the app: config, extensions, blueprints, CLI, error pages."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_object(config or Config)
    app.config.update(overrides)
    _check_secret_key(app)
    _check_ticket_kek(app)
    hops = int(app.config.get("PROXY_FIX_HOPS") or 0)
    if hops:
        # Behind a reverse proxy: trust its X-Forwarded-* so rate limits see client IPs.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "INFO"))
    # Alembic announces each of its plugins at INFO on every command; keep the CLI readable.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    from .database import configure_engine_options, sqlite_url
    from .extensions import csrf, db, limiter, login_manager, migrate

    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = sqlite_url(app.instance_path)
    configure_engine_options(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    if app.config.get("REDIS_URL") and "RATELIMIT_STORAGE_URI" not in overrides:
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    from . import i18n

    i18n.init_app(app)

    from .routing import IdConverter, Request, TextConverter, TextPathConverter

    # Before any rule is added: path parameters are in range (ids) or printable text (the rest).
    app.url_map.converters.update(int=IdConverter, default=TextConverter, string=TextConverter, path=TextPathConverter)
    app.request_class = Request

    from . import health
    from .auth.blueprint import bp as auth_bp
    from .door.blueprint import api_v1
    from .door.blueprint import bp as door_bp
    from .messaging.blueprint import bp as messaging_bp
    from .messaging.blueprint import preferences_bp
    from .rallies.blueprint import bp as rallies_bp
    from .rallies.blueprint import organize_bp
    from .rsvp.blueprint import admin_bp as rsvp_admin_bp
    from .rsvp.blueprint import bp as rsvp_bp
    from .rsvp.blueprint import supporters_bp, tickets_bp
    from .sms.blueprint import bp as sms_bp
    from .turnout.blueprint import bp as turnout_bp
    from .volunteers.blueprint import bp as volunteers_bp
    from .volunteers.blueprint import organize_bp as shifts_bp

    for name in VIEW_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    for bp in (health.bp, auth_bp, rallies_bp, organize_bp, rsvp_bp, tickets_bp, rsvp_admin_bp, supporters_bp, door_bp,
               turnout_bp, api_v1, messaging_bp, preferences_bp, sms_bp, volunteers_bp, shifts_bp):
        app.register_blueprint(bp)

    from . import cli, errors, security, static_files
    from .messaging import render  # noqa: F401  (registers the organizer message renderers)
    from .rsvp import automatic_mail, notices  # noqa: F401  (register the email renderers the outbox sender uses)
    from .sms import texts  # noqa: F401  (registers the SMS renderer)
    from .volunteers import mail  # noqa: F401  (registers the volunteer email renderer)

    errors.register(app)
    security.register(app)
    cli.register(app)
    static_files.init_app(app, security.FIXED_HEADERS)
    return app


#: Imported on first use by the views that need them, and by warm_up() before a server forks.
HEAVY_MODULES = (
    "rallies.geo.folium_maps", "rallies.turnout.maps",  # folium, branca, numpy
    "qrcode", "qrcode.image.pil",  # tickets' QR codes, PIL
    "geopy.geocoders", "geopy.extra.rate_limiter",  # online geocoding
)


def warm_up() -> None:
    """Load once what first requests would otherwise pay for: the gazetteer's indexes, folium, qrcode/PIL
    and geopy. gunicorn.conf.py runs it in the master before forking, so the workers share it all
    copy-on-write and serve at once. It never opens a database connection (workers must not inherit one)."""

    from .geo import gazetteer

    for name in HEAVY_MODULES:
        importlib.import_module(name)
    gazetteer.warm()


def _check_secret_key(app: Flask) -> None:
    if app.config["SECRET_KEY"] == DEV_SECRET_KEY and not (app.debug or app.testing):
        raise RuntimeError(
            "SECRET_KEY is the development default. Set SECRET_KEY in the environment "
            "(or FLASK_DEBUG=1 for local development)."
        )


def _check_ticket_kek(app: Flask) -> None:
    from .keys.sealing import check_config

    if app.config.get("TICKET_KEK") == DEV_TICKET_KEK and not (app.debug or app.testing):
        raise RuntimeError(
            "TICKET_KEK is the development default. Set TICKET_KEK in the environment "
            "(see README, \"Ticket keys\"), or FLASK_DEBUG=1 for local development."
        )
    try:
        check_config(app.config)
    except ValueError as exc:
        raise RuntimeError(str(exc)) from None
