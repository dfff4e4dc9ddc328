"""Blueprint ``rsvp``: the supporter side (public.py: RSVP form, ticket page, QR, cancel) and the
organizer's RSVP list and supporters (organize.py)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("rsvp", __name__)


@bp.app_template_global("new_rsvp_form")
def new_rsvp_form(rally):
    """A fresh RSVP form for a rally page: ``{% include "rsvp/_form.html" %}`` with ``form=new_rsvp_form(rally)``."""
    from flask import request

    from ..forms.rsvp import RsvpForm, strip_controls

    form = RsvpForm(formdata=None, rally=rally)
    for name in ("utm_source", "utm_medium", "utm_campaign", "ref"):
        getattr(form, name).data = strip_controls(request.args.get(name))[:100]
    return form


from . import delivery, organize, public  # noqa: E402,F401  (views register themselves on bp)
