"""The documented JSON API for third-party devices and tools (see static/openapi/door.yaml).

Door devices authenticate with ``Authorization: Bearer <token>``: an API token an organizer
made for one door, or a door session's secret. The token decides the rally, door and role,
so these URLs carry no ids. Bearer headers cannot be sent by a cross-site form, so these
endpoints are exempt from the CSRF form token.
"""

from flask import Blueprint

from .extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _register() -> None:
    from .door.api import HANDLERS, door_context, door_rate_limit

    def make(name, handler):
        def view():
            return handler(door_context(None))

        view.__name__ = f"door_{name}"
        view.__doc__ = handler.__doc__
        return view

    for name, (handler, method) in HANDLERS.items():
        bp.add_url_rule(f"/door/{name}", endpoint=f"door_{name}", view_func=csrf.exempt(door_rate_limit(make(name, handler))),
                        methods=[method])


_register()
