"""Supporter side: RSVP form, ticket page, ticket QR, cancel."""

from flask import Blueprint

bp = Blueprint("rsvp", __name__)
