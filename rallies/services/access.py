"""Who may do what in which campaign."""

from __future__ import annotations

from ..extensions import db
from ..models import ROLE_RANK, Membership


def role_in(user_id: int, campaign_id: int) -> str | None:
    """The user's role in the campaign, or None if not a member."""
    return db.session.scalar(
        db.select(Membership.role).where(Membership.user_id == user_id, Membership.campaign_id == campaign_id)
    )


def has_role(user_id: int, campaign_id: int, min_role: str) -> bool:
    """True if the user holds min_role or higher in the campaign."""
    role = role_in(user_id, campaign_id)
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[min_role]
