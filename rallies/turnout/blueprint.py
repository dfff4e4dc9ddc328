"""Turnout: dashboards, comparisons, maps and exports (pages in views.py, JSON and CSV in api.py)."""

from flask import Blueprint

bp = Blueprint("turnout", __name__, url_prefix="/turnout")
