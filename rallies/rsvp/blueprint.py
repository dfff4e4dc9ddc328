"""The RSVP domain's blueprints, one URL prefix and one template folder each.

- ``rsvp`` (public.py): the RSVP form of a rally, ``/r/<slug>/rsvp``;
- ``tickets`` (ticket_pages.py): a supporter's secret ticket page and its actions, ``/t/<token>``;
- ``rsvp_admin`` (organize.py): a rally's RSVP list for organizers;
- ``supporters`` (supporter_pages.py): a campaign's supporters, their data export and deletion.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("rsvp", __name__, url_prefix="/r/<slug>/rsvp")
tickets_bp = Blueprint("tickets", __name__, url_prefix="/t/<token>")
admin_bp = Blueprint("rsvp_admin", __name__, url_prefix="/organize/rallies/<int:rally_id>/rsvps")
supporters_bp = Blueprint("supporters", __name__, url_prefix="/organize/campaigns/<int:campaign_id>/supporters")
