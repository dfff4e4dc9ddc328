"""Organizer accounts and campaign teams."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin

from ..extensions import db
from .types import UTCDateTime, utcnow

ROLE_OWNER = "owner"
ROLE_ORGANIZER = "organizer"
ROLE_VIEWER = "viewer"
#: Higher ranks can do everything lower ranks can.
ROLE_RANK = {ROLE_VIEWER: 1, ROLE_ORGANIZER: 2, ROLE_OWNER: 3}


class User(UserMixin, db.Model):
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: Normalised (trimmed, lower-case); see mail.addresses.normalise_email.
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(255))
    #: Bumped on logout, password change and "end other sessions", so every older session cookie,
    #: remember-me cookie and reset link stops working.
    session_version: so.Mapped[int] = so.mapped_column(default=1)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    #: When the user proved they own the address (emailed link or completed password reset);
    #: None until then. Invites bound to an address need it (auth.teams.accept_invite).
    email_verified_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    memberships: so.Mapped[list[Membership]] = so.relationship(back_populates="user", cascade="all, delete-orphan")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class Campaign(db.Model):
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    #: Reply-To on everything the campaign sends, so supporters' replies reach a person ("" = none).
    contact_email: so.Mapped[str] = so.mapped_column(sa.String(254), default="", server_default="")
    #: The language for supporters whose browser names none we have (rallies/i18n.py).
    default_locale: so.Mapped[str] = so.mapped_column(sa.String(10), default="en", server_default="en")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    memberships: so.Mapped[list[Membership]] = so.relationship(back_populates="campaign", cascade="all, delete-orphan")


class Membership(db.Model):
    __table_args__ = (sa.UniqueConstraint("campaign_id", "user_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    campaign_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    #: owner, organizer or viewer (see ROLE_RANK).
    role: so.Mapped[str] = so.mapped_column(sa.String(20))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    campaign: so.Mapped[Campaign] = so.relationship(back_populates="memberships")
    user: so.Mapped[User] = so.relationship(back_populates="memberships")


class Invite(db.Model):
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    campaign_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    role: so.Mapped[str] = so.mapped_column(sa.String(20))
    #: If set, only the account with this (normalised) email may accept; empty means anyone with the link.
    email: so.Mapped[str] = so.mapped_column(sa.String(254), default="", server_default="")
    #: SHA-256 of the secret in the link; the secret itself is never stored.
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    used_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    used_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    campaign: so.Mapped[Campaign] = so.relationship()
