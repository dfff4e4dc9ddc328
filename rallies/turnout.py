"""Turnout: dashboards, comparisons, maps and exports."""

from flask import Blueprint

bp = Blueprint("turnout", __name__, url_prefix="/turnout")
