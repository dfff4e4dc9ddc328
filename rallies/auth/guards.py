"""View-side helpers that load campaign data for the logged-in user, or 404.

Another campaign's id gives 404, never 403, so ids leak nothing.
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from ..extensions import db
from ..models import ROLE_RANK, Campaign, Membership, Rally
from .roles import can_see_contacts, role_in


def campaign_or_404(campaign_id: int, min_role: str = "viewer") -> Campaign:
    """The campaign if the current user has at least min_role in it."""
    role = role_in(current_user.id, campaign_id) if current_user.is_authenticated else None
    if role is None:
        abort(404)
    if ROLE_RANK[role] < ROLE_RANK[min_role]:
        abort(403)
    return db.session.get(Campaign, campaign_id) or abort(404)


def rally_or_404(rally_id: int, min_role: str = "viewer") -> Rally:
    """The rally if it belongs to one of the current user's campaigns with at least min_role."""
    rally = db.session.get(Rally, rally_id)
    if rally is None or not current_user.is_authenticated:
        abort(404)
    role = role_in(current_user.id, rally.campaign_id)
    if role is None:
        abort(404)
    if ROLE_RANK[role] < ROLE_RANK[min_role]:
        abort(403)
    return rally


def sees_contacts(campaign_id: int) -> bool:
    """True if the current user's role in the campaign shows supporters' contact details."""
    return current_user.is_authenticated and can_see_contacts(role_in(current_user.id, campaign_id))


def rally_row_or_404(model, row_id: int, rally: Rally):
    """A row of model (Door, DoorLink, Rsvp, ...) by id, only if it belongs to this rally; else 404."""
    row = db.session.get(model, row_id)
    if row is None or row.rally_id != rally.id:
        abort(404)
    return row


def current_memberships() -> list[Membership]:
    """The current user's memberships, campaign names first-loaded."""
    if not current_user.is_authenticated:
        return []
    return list(
        db.session.scalars(
            db.select(Membership).where(Membership.user_id == current_user.id).order_by(Membership.campaign_id)
        )
    )
