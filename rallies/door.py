"""Door staff: scanner page, door sessions and the door JSON endpoints."""

from flask import Blueprint

bp = Blueprint("door", __name__, url_prefix="/door")
