"""Door staff: door management for organizers, the scanner page (a PWA) and its JSON endpoints.

Endpoints keep the ``door.*`` names whichever module defines them.
"""

from __future__ import annotations

from flask import Blueprint

from ..dates import local_time

bp = Blueprint("door", __name__, url_prefix="/door")
#: The documented API for devices with a bearer token (static/openapi/door.yaml); same views as the scanner's.
api_v1 = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.app_template_filter("door_time")
def door_time(moment, tz_name: str) -> str:
    """A scan time (datetime or ISO string) in the rally's zone, to the second, zone named."""
    return local_time(moment, tz_name, "seconds")
