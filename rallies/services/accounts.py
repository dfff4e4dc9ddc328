"""Organizer accounts: creation, password hashing and checking."""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import ROLE_OWNER, Campaign, Membership, User
from .emails import normalise_email

# Same cost for unknown emails, so timing does not reveal which accounts exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(ValueError):
    """A user-facing problem with account data."""


def create_user(email: str, password: str, name: str = "", campaign_name: str | None = None) -> User:
    """Create an organizer (and, if named, a campaign they own). The caller commits."""
    email = normalise_email(email)
    if db.session.scalar(db.select(User.id).where(User.email == email)):
        raise AccountError("An account with that email already exists.")
    user = User(email=email, name=name.strip(), password_hash=generate_password_hash(password))
    db.session.add(user)
    if campaign_name:
        campaign = Campaign(name=campaign_name.strip())
        db.session.add(campaign)
        db.session.add(Membership(campaign=campaign, user=user, role=ROLE_OWNER))
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user if the password matches, else None."""
    user = db.session.scalar(db.select(User).where(User.email == normalise_email(email)))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None
