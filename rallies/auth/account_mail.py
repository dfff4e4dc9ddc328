"""Account and team email: confirm an address, reset or changed password, an invite to a team.

Each function queues one message in the caller's transaction (the outbox), so the email commits
or rolls back with the write it is about. Links are absolute URLs under BASE_URL.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, render_template

from ..mail.delivery import queue_email
from ..mail.links import external_url
from ..models import Campaign, User


def _queue(kind: str, to_addr: str, subject: str, template: str, **context) -> None:
    """Render templates/auth/email/<template>.{txt,html} and queue it."""
    text = render_template(f"auth/email/{template}.txt", **context)
    html = render_template(f"auth/email/{template}.html", **context)
    queue_email(kind, to_addr, subject, html, text)


def verify_days() -> int:
    """How many days a confirmation link works (at least one, as the emails say)."""
    return max(1, current_app.config["EMAIL_VERIFY_MAX_AGE"] // 86400)


def invite_link(secret: str) -> str:
    """The link that opens an invite."""
    return external_url("auth.invite", token=secret)


def verification(user: User, token: str) -> None:
    """The "confirm your email address" link."""
    _queue("verify_email", user.email, "Confirm your email address for Rallies", "verify_email", user=user,
           link=external_url("auth.verify_email", token=token), days=verify_days())


def password_reset(user: User, token: str) -> None:
    """The link to choose a new password."""
    _queue("password_reset", user.email, "Reset your Rallies password", "reset_password", user=user,
           link=external_url("auth.reset_password", token=token),
           minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60)


def password_changed(user: User) -> None:
    """The notice that the password changed, with a link to reset it if that was not them."""
    _queue("password_changed", user.email, "Your Rallies password was changed", "password_changed", user=user,
           link=external_url("auth.forgot_password"))


def invite(to_addr: str, campaign: Campaign, inviter: User, role: str, link: str, expires_at: datetime) -> None:
    """An invite to join a campaign's team."""
    _queue("invite", to_addr, f"Join {campaign.name} on Rallies", "invite", campaign=campaign, inviter=inviter,
           role=role, link=link, expires_at=expires_at)
