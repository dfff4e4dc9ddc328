"""The documented JSON API for third-party devices and tools."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
