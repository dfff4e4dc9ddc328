"""Organizer accounts: sign-up, password hashing and checking, sessions, reset and confirmation links.

The functions views call own their transaction and queue their email in it (auth/account_mail.py);
``create_user`` and ``mark_email_verified`` are building blocks whose caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from ..database import atomic
from ..extensions import db
from ..mail.addresses import normalise_email
from ..models import ROLE_OWNER, Campaign, Membership, User, utcnow
from . import account_mail, teams


def _hash(password: str) -> str:
    return generate_password_hash(password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


@cache
def _dummy_hash(method: str) -> str:
    """A hash to check against for unknown emails: same cost, so timing reveals no accounts."""
    return generate_password_hash("not-a-real-password", method=method)

_RESET_SALT = "rallies.password-reset"
_VERIFY_SALT = "rallies.email-verify"


class AccountError(ValueError):
    """A user-facing problem with account data."""


class ResetLinkInvalid(AccountError):
    """A password reset link that is forged, expired or already used."""


class WrongPassword(AccountError):
    """The current password given to confirm a change does not match."""


class VerifyLinkInvalid(AccountError):
    """An email confirmation link that is forged, expired or for an address the account no longer has."""


@dataclass(frozen=True)
class VerifiedEmail:
    """The outcome of a confirmation link: whose address it proved, and the invite it was sent for, if any."""

    user: User
    invite_secret: str


@dataclass(frozen=True)
class SignUp:
    """A new account; ``membership`` if it joined the invite's team, ``waiting`` if the invite waits for the
    address to be confirmed."""

    user: User
    membership: Membership | None
    waiting: bool


def find_user(email: str) -> User | None:
    """The account with this email (normalised), or None."""
    return db.session.scalar(db.select(User).where(User.email == normalise_email(email)))


def create_user(email: str, password: str, name: str = "", campaign_name: str | None = None) -> User:
    """Create an organizer (and, if named, a campaign they own). The caller commits."""
    email = normalise_email(email)
    if db.session.scalar(db.select(User.id).where(User.email == email)):
        raise AccountError("An account with that email already exists.")
    user = User(email=email, name=name.strip(), password_hash=_hash(password))
    db.session.add(user)
    if campaign_name:
        campaign = Campaign(name=campaign_name.strip())
        db.session.add(campaign)
        db.session.add(Membership(campaign=campaign, user=user, role=ROLE_OWNER))
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user if the password matches, else None."""
    user = find_user(email)
    if user is None:
        check_password_hash(_dummy_hash(current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def sign_up(email: str, password: str, *, name: str = "", campaign_name: str | None = None,
            invite_secret: str = "") -> SignUp:
    """Create an account (owning a new campaign if one is named), join the invite's team when the invite
    takes this user now, and queue the confirmation email, all in one transaction.

    An invite bound to the new address waits: its secret rides in the confirmation link instead.
    AccountError (the email is taken) or teams.InviteInvalid when the account cannot be made.
    """
    with atomic():
        user = create_user(email, password, name=name, campaign_name=campaign_name)
        membership, waiting = None, False
        if invite_secret:
            try:
                membership = teams.accept_invite(invite_secret, user)
            except teams.EmailNotVerified:
                waiting = True  # joins when the emailed link proves the address
        account_mail.verification(user, verification_token(user, invite_secret if waiting else ""))
    return SignUp(user, membership, waiting)


def _end_sessions(user: User) -> None:
    """Invalidate every session, remember-me cookie and reset link of the user. The caller commits."""
    # A plain UPDATE ... + 1 so two changes at once cannot both write the same version.
    db.session.execute(
        db.update(User).where(User.id == user.id).values(session_version=User.session_version + 1)
    )
    db.session.refresh(user, ["session_version"])


def end_sessions(user: User) -> None:
    """Invalidate every session, remember-me cookie and reset link of the user, committed now."""
    with atomic():
        _end_sessions(user)


def log_out(user: User) -> None:
    """End every session and remember-me cookie of the user, committed now.

    Clearing this browser's cookie is not enough: a copy taken earlier would still carry
    the current version, so logging out moves the version on for every copy.
    """
    end_sessions(user)


def _set_password(user: User, password: str) -> None:
    """Store a new password and end every other session and reset link. The caller commits."""
    user.password_hash = _hash(password)
    _end_sessions(user)


def request_password_reset(email: str) -> None:
    """Queue a reset link to the account with this email; nothing at all when there is none."""
    with atomic():
        user = find_user(email)
        if user is not None:
            account_mail.password_reset(user, reset_token(user))


def reset_password(user: User, password: str) -> None:
    """Set a new password from a reset link: every session and older link ends, the address counts as
    confirmed (the link reached the mailbox) and the user is told by email."""
    with atomic():
        _set_password(user, password)
        mark_email_verified(user)
        account_mail.password_changed(user)


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change the password after confirming the current one (WrongPassword if it does not match); every
    session ends and the user is told by email."""
    if not check_password_hash(user.password_hash, current_password):
        raise WrongPassword("That is not your current password.")
    with atomic():
        _set_password(user, new_password)
        account_mail.password_changed(user)


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _load_link(salt: str, token: str, max_age: int, error: type[Exception], expired: str, invalid: str):
    """(the user a signed link names or None, its data); ``error(expired | invalid)`` when it does not verify."""
    try:
        data = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise error(expired) from exc
    except BadSignature as exc:
        raise error(invalid) from exc
    if not isinstance(data, dict):
        raise error(invalid)
    user = db.session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    return user, data


def reset_token(user: User) -> str:
    """A signed, timestamped token naming the user and their current session version.

    Changing the password bumps the version, so the token works once and every older
    token dies with it.
    """
    return _serializer(_RESET_SALT).dumps({"u": user.id, "v": user.session_version})


def user_for_reset_token(token: str) -> User:
    """The user a reset token was issued to, or ResetLinkInvalid saying why not."""
    user, data = _load_link(_RESET_SALT, token, current_app.config["PASSWORD_RESET_MAX_AGE"], ResetLinkInvalid,
                            "That reset link has expired. Ask for a new one below.",
                            "That reset link is not valid. Ask for a new one below.")
    if user is None or user.session_version != data.get("v"):
        raise ResetLinkInvalid("That reset link has already been used. Ask for a new one below.")
    return user


def mark_email_verified(user: User) -> None:
    """Record that the user proved they own their address (kept if already set). The caller commits."""
    db.session.execute(
        db.update(User).where(User.id == user.id, User.email_verified_at.is_(None)).values(email_verified_at=utcnow())
    )
    db.session.refresh(user, ["email_verified_at"])


def verification_token(user: User, invite_secret: str = "") -> str:
    """A signed, timestamped token naming the user and the address it proves (and an invite to join after).

    The invite's secret rides along only to the invite's own address, where the invite email
    already carries it.
    """
    data = {"u": user.id, "e": user.email}
    if invite_secret:
        data["i"] = invite_secret
    return _serializer(_VERIFY_SALT).dumps(data)


def read_verification_token(token: str) -> VerifiedEmail:
    """Whose address a confirmation token proves (changing nothing), or VerifyLinkInvalid saying why not."""
    invalid = "That confirmation link is not valid. Log in and ask for a new one."
    user, data = _load_link(_VERIFY_SALT, token, current_app.config["EMAIL_VERIFY_MAX_AGE"], VerifyLinkInvalid,
                            "That confirmation link has expired. Log in and ask for a new one.", invalid)
    if user is None or user.email != data.get("e"):
        raise VerifyLinkInvalid(invalid)
    invite = data.get("i")
    return VerifiedEmail(user, invite if isinstance(invite, str) else "")


def verify_email(token: str) -> VerifiedEmail:
    """Mark the address in a confirmation token verified, or VerifyLinkInvalid saying why not."""
    found = read_verification_token(token)
    with atomic():
        mark_email_verified(found.user)
    return found


def send_verification(user: User, invite_secret: str = "") -> None:
    """Queue a new confirmation link. An invite's secret rides along only when it opens a pending invite
    for this user's own address (the invite email already carries it there)."""
    if invite_secret:
        try:
            invite = teams.find_invite(invite_secret)
        except teams.InviteInvalid:
            invite_secret = ""
        else:
            if normalise_email(invite.email) != user.email:
                invite_secret = ""
    with atomic():
        account_mail.verification(user, verification_token(user, invite_secret))
