"""Who may do what in which campaign.

Every page, search and export that shows supporters asks ``can_see_contacts`` rather than
comparing roles itself, so the rule lives here once: viewers see names, statuses and counts;
organizers and owners also see (and search by) email, phone and ZIP code.
"""

from __future__ import annotations

from ..extensions import db
from ..models import ROLE_ORGANIZER, ROLE_RANK, Membership

#: The lowest role that sees a supporter's contact details and may search or export by them.
CONTACTS_MIN_ROLE = ROLE_ORGANIZER
#: The columns of an RSVP or supporter that only CONTACTS_MIN_ROLE and above see.
CONTACT_FIELDS = ("email", "phone", "postal_code")


def role_in(user_id: int, campaign_id: int) -> str | None:
    """The user's role in the campaign, or None if not a member."""
    return db.session.scalar(
        db.select(Membership.role).where(Membership.user_id == user_id, Membership.campaign_id == campaign_id)
    )


def has_role(user_id: int, campaign_id: int, min_role: str) -> bool:
    """True if the user holds min_role or higher in the campaign."""
    role = role_in(user_id, campaign_id)
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[min_role]


def can_see_contacts(role: str | None) -> bool:
    """True if this role sees supporters' email, phone and ZIP code and may search by them."""
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[CONTACTS_MIN_ROLE]
