"""Blueprint ``rsvp``: the supporter side (public.py: RSVP form, ticket page, QR, cancel) and the
organizer's RSVP list and supporters (organize.py)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("rsvp", __name__)
