"""Same-stack baseline: the project's own app (create_app) plus a bench-only blueprint.

The bare baseline (bench/baseline_app.py) is Flask + Flask-SQLAlchemy alone. This one pays
everything Rallies pays on every request (security headers and CSP, Flask-Login, Flask-Limiter's
before-request, the session interface, CSRFProtect's check, the mail hook, the teardowns), so
a ratio against it shows what an endpoint's own work costs, apart from the app-wide middleware.

    gunicorn -w 2 -k sync 'bench.same_stack_app:create_same_stack_app()'    (env as for wsgi:app)

POST /bench/insert       one INSERT into bench_item (CSRF-exempt: no form, as the bare /insert)
GET  /bench/static-page  bench/templates/static_page.html through the app's Jinja (no base.html)
GET  /bench/hello        static text

The blueprint lives here, not in the rallies package: it exists only for benchmarks.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, render_template, request

from bench.baseline_app import bench_item
from rallies.database import atomic
from rallies.models.types import utcnow

HERE = Path(__file__).resolve().parent

bp = Blueprint("bench", __name__, url_prefix="/bench", template_folder=str(HERE / "templates"))


@bp.get("/hello")
def hello():
    """Static text through the whole app stack."""
    return "hello", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.post("/insert")
def insert():
    """One INSERT in one write transaction, as the bare baseline's /insert."""
    name = request.form.get("name") or "item"
    with atomic() as session:
        session.execute(bench_item.insert().values(name=str(name)[:80], created_at=utcnow()))
    return {"status": "ok"}, 201


@bp.get("/static-page")
def static_page():
    """The bare baseline's static page, rendered through the project app's Jinja environment."""
    return render_template("static_page.html")


def with_bench_routes(app: Flask) -> Flask:
    """Register the bench blueprint on a project app (CSRF-exempt insert, like the bare baseline)."""
    from rallies.extensions import csrf

    app.register_blueprint(bp)
    csrf.exempt(insert)
    return app


def create_same_stack_app(**overrides) -> Flask:
    """create_app() from the environment's config, plus the bench routes."""
    from config import Config
    from rallies import create_app

    return with_bench_routes(create_app(Config, **overrides))
