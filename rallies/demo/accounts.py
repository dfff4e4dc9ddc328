"""Demo organizer and campaign."""

from __future__ import annotations

from collections.abc import Iterator

from flask import current_app

from ..database import atomic
from ..extensions import db
from ..models import Campaign, Membership, User

DEMO_EMAIL = "organizer@example.org"
DEMO_PASSWORD = "rally-demo-2026"  # noqa: S105 (printed by the demo command)
DEMO_CAMPAIGN = "Demo campaign"


def demo_campaign() -> Campaign:
    """The demo campaign (exists after load())."""
    return db.session.scalar(db.select(Campaign).where(Campaign.name == DEMO_CAMPAIGN).order_by(Campaign.id))


def load() -> Iterator[str]:
    """Create the demo organizer and campaign once."""
    from ..auth.accounts import create_user

    with atomic():
        user = db.session.scalar(db.select(User).where(User.email == DEMO_EMAIL))
        if user is None:
            user = create_user(DEMO_EMAIL, DEMO_PASSWORD, name="Dana Organizer", campaign_name=DEMO_CAMPAIGN)
        elif demo_campaign() is None:
            campaign = Campaign(name=DEMO_CAMPAIGN)
            db.session.add_all([campaign, Membership(campaign=campaign, user=user, role="owner")])
    base = current_app.config["BASE_URL"].rstrip("/")
    yield f"Demo organizer login: {DEMO_EMAIL} / {DEMO_PASSWORD} at {base}/auth/login"
