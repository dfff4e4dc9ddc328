"""The SMS domain's blueprint: ``sms`` at ``/sms``, the provider's webhooks (webhook.py)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sms", __name__, url_prefix="/sms")
