"""The messaging domain's blueprints, one URL prefix and one template folder each.

- ``messaging`` (views.py): a rally's messages for organizers, ``/organize/rallies/<rally_id>/messages``;
- ``preferences`` (preference_pages.py): a supporter's unsubscribe and preferences pages, ``/u``.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("messaging", __name__, url_prefix="/organize/rallies/<int:rally_id>/messages")
preferences_bp = Blueprint("preferences", __name__, url_prefix="/u")
