"""Volunteer sign-ups: take a place on a shift, get an own door link by email, cancel from that email.

Concurrency. A sign-up locks the shift row (``SELECT ... FOR UPDATE`` on PostgreSQL; ``atomic()`` runs
BEGIN IMMEDIATE on SQLite, which serialises writers) and then takes a place with the conditional
``UPDATE ... SET filled = filled + 1 WHERE filled < slots``: its rowcount decides, so two volunteers
can never both take a shift's last place. Cancelling gives the place back with ``filled - 1`` under the
same lock. The (shift, mailbox) unique key makes the same email signing up twice one sign-up.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from ..database import atomic
from ..door import doors
from ..extensions import db
from ..keys.link_secrets import new_page_token, page_token_key
from ..mail.addresses import canonical_email, normalise_email
from ..models import Door, DoorLink, Rally, Shift, VolunteerSignup, utcnow
from ..models.volunteers import SIGNUP_ACTIVE, SIGNUP_CANCELLED
from .door_links import seal_link_secret
from .mail import confirmation_email, resend_email
from .shifts import DAY_BEFORE, SOON, link_window


class SignupError(Exception):
    """A sign-up the rules refuse; the message is shown to the volunteer."""


class ShiftFull(SignupError):
    """Every place on the shift is taken."""


@dataclass
class VolunteerInput:
    """A volunteer as the form gave them (phone already E.164 or "")."""

    name: str
    email: str
    phone: str = ""
    locale: str = ""


@dataclass
class SignupResult:
    signup_id: int
    #: "signed_up", or "already" when this mailbox already held a place on the shift (nothing changed but
    #: the confirmation is emailed again).
    outcome: str
    #: The volunteer's page token (for the redirect after a new sign-up; "" for "already").
    token: str = ""


def shift_problem(shift: Shift | None, rally: Rally | None, now=None) -> str | None:
    """Why this shift takes no sign-ups, or None."""
    now = now or utcnow()
    if shift is None or rally is None or shift.rally_id != rally.id or not rally.is_public:
        return gettext("Choose one of the shifts listed.")
    if rally.is_cancelled:
        return gettext("This rally has been cancelled, so it needs no volunteers.")
    if shift.ends_at <= now:
        return gettext("This shift is over.")
    return None


def sign_up(rally: Rally, shift_id: int, person: VolunteerInput) -> SignupResult:
    """Put a volunteer on a shift with their own door link, and queue their confirmation email."""
    email = normalise_email(person.email)
    key = canonical_email(email)
    name = " ".join((person.name or "").split())[:120]
    if not name or not email or "@" not in email:
        raise SignupError(gettext("Give your name and email address."))
    for attempt in range(2):
        try:
            with atomic():
                return _sign_up(rally, shift_id, name, email, key, person)
        except IntegrityError:
            # The same mailbox signed up at the same moment; the retry finds its sign-up.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _sign_up(rally, shift_id, name, email, key, person) -> SignupResult:
    # The shift's lock first: sign-ups and cancellations of one shift then run one after another.
    shift = db.session.scalar(sa.select(Shift).where(Shift.id == shift_id).with_for_update())
    problem = shift_problem(shift, rally)
    if problem:
        raise SignupError(problem)
    existing = db.session.scalar(sa.select(VolunteerSignup).where(
        VolunteerSignup.shift_id == shift.id, VolunteerSignup.email_key == key))
    if existing is not None and existing.status == SIGNUP_ACTIVE:
        # The page says only "already signed up"; the door link goes to the mailbox, never to whoever typed it.
        resend_email(existing)
        return SignupResult(existing.id, "already")
    taken = db.session.execute(sa.update(Shift).where(Shift.id == shift.id, Shift.filled < Shift.slots)
                               .values(filled=Shift.filled + 1)).rowcount
    if taken != 1:
        raise ShiftFull(gettext("Sorry, this shift is full. Choose another one."))
    token = new_page_token()
    signup = existing or VolunteerSignup(shift_id=shift.id, rally_id=rally.id, email_key=key)
    signup.name, signup.email, signup.phone, signup.locale = name, email, person.phone or "", person.locale or ""
    signup.status, signup.cancelled_at, signup.created_at = SIGNUP_ACTIVE, None, utcnow()
    signup.token_hash, signup.token_sealed = token.token_hash, token.token_sealed
    # The confirmation tells them everything: reminders whose time has already come are not sent on top of it.
    now = utcnow()
    signup.reminded_day_at = now if shift.starts_at - now <= DAY_BEFORE else None
    signup.reminded_soon_at = now if shift.starts_at - now <= SOON else None
    not_before, expires = link_window(shift)
    link, secret = doors.add_link(db.session.get(Door, shift.door_id), shift.role, expires, label=name,
                                  not_before=not_before, holder_name=name)
    signup.link_id, signup.link_sealed = link.id, seal_link_secret(link, secret)
    if existing is None:
        db.session.add(signup)
    db.session.flush()
    confirmation_email(signup, rally)
    return SignupResult(signup.id, "signed_up", token.token)


def signup_by_token(token: str) -> VolunteerSignup | None:
    """The sign-up behind a volunteer page URL, or None (malformed tokens never reach the database)."""
    key = page_token_key(token)
    if key is None:
        return None
    return db.session.scalar(sa.select(VolunteerSignup).where(VolunteerSignup.token_hash == key))


def cancel_signup(signup: VolunteerSignup) -> bool:
    """Give the place back and revoke the volunteer's door link (its devices stop at their next request).
    False when it was cancelled already."""
    with atomic():
        db.session.execute(sa.select(Shift.id).where(Shift.id == signup.shift_id).with_for_update())
        done = db.session.execute(sa.update(VolunteerSignup).where(
            VolunteerSignup.id == signup.id, VolunteerSignup.status == SIGNUP_ACTIVE)
            .values(status=SIGNUP_CANCELLED, cancelled_at=utcnow())).rowcount
        if not done:
            return False
        db.session.execute(sa.update(Shift).where(Shift.id == signup.shift_id, Shift.filled > 0)
                           .values(filled=Shift.filled - 1))
        if signup.link_id is not None:
            db.session.execute(sa.update(DoorLink).where(DoorLink.id == signup.link_id, DoorLink.revoked_at.is_(None))
                               .values(revoked_at=utcnow()))
    db.session.expire_all()
    return True


def signup_for_link(link_id: int) -> VolunteerSignup | None:
    """The sign-up a door link was made for (the door page shows that shift's times), or None."""
    return db.session.scalar(sa.select(VolunteerSignup).where(VolunteerSignup.link_id == link_id))
