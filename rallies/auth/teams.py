"""Campaigns as teams: members and roles, invites by expiring link, the last-owner rule.

Who may call what is the view's business (``campaign_or_404(id, min_role)``); these functions
keep the invariants that hold whoever calls them: a campaign always has an owner, an invite
link admits one person once before it expires, and ids from another campaign match nothing.

Each change a view asks for is one function that owns its transaction; ``create_invite`` and
``accept_invite`` are also building blocks whose caller commits (sign-up joins a team in its own unit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..database import atomic
from ..extensions import db
from ..keys.link_secrets import hash_secret, new_secret
from ..mail.addresses import normalise_email
from ..models import ROLE_ORGANIZER, ROLE_OWNER, ROLE_VIEWER, Campaign, Invite, Membership, User, utcnow
from . import account_mail

#: Roles an invite can grant; owners are made by promoting a member, never by a link.
INVITE_ROLES = (ROLE_ORGANIZER, ROLE_VIEWER)
ROLES = (ROLE_OWNER, ROLE_ORGANIZER, ROLE_VIEWER)
ROLE_LABELS = {
    ROLE_OWNER: "Owner: everything, including the team",
    ROLE_ORGANIZER: "Organizer: manages rallies, sees supporters' contact details and invites people",
    # Must match access.can_see_contacts: the rule and its description change together.
    ROLE_VIEWER: "Viewer: sees rallies, turnout and RSVP names and statuses (no emails, phones or ZIP codes); "
                 "changes nothing",
}


class TeamError(ValueError):
    """A user-facing reason a team change cannot be made."""


class LastOwner(TeamError):
    """The change would leave the campaign with no owner."""


class InviteInvalid(TeamError):
    """An invite link that is unknown, revoked, expired or used."""


class EmailNotVerified(InviteInvalid):
    """The invite is bound to the user's address, but they have not proved they own it yet."""


class NotFound(LookupError):
    """The member or invite is not in this campaign (views answer 404)."""


@dataclass(frozen=True)
class NewInvite:
    """An invite just made: its link (shown once; only the secret's hash is stored) and whether it was emailed."""

    invite: Invite
    link: str
    emailed: bool


@dataclass(frozen=True)
class CampaignRole:
    """One of a user's campaigns and their role in it."""

    campaign: Campaign
    role: str
    members: int


# ------------------------------------------------------------------------------------ campaigns


def create_campaign(user: User, name: str) -> Campaign:
    """A new campaign owned by the user."""
    with atomic():
        campaign = Campaign(name=name.strip())
        db.session.add(campaign)
        db.session.add(Membership(campaign=campaign, user=user, role=ROLE_OWNER))
    return campaign


def rename_campaign(campaign: Campaign, name: str) -> None:
    """Give the campaign a new name."""
    with atomic():
        campaign.name = name.strip()


def update_settings(campaign: Campaign, contact_email: str, default_locale: str) -> None:
    """The campaign's contact address (Reply-To on everything it sends supporters) and default language."""
    with atomic():
        campaign.contact_email = contact_email.strip().lower()
        campaign.default_locale = default_locale


def user_campaigns(user_id: int) -> list[CampaignRole]:
    """The user's campaigns with their role and team size, by name."""
    counts = (
        db.select(Membership.campaign_id, db.func.count(Membership.id).label("n"))
        .group_by(Membership.campaign_id)
        .subquery()
    )
    rows = db.session.execute(
        db.select(Campaign, Membership.role, counts.c.n)
        .join(Membership, Membership.campaign_id == Campaign.id)
        .join(counts, counts.c.campaign_id == Campaign.id)
        .where(Membership.user_id == user_id)
        .order_by(db.func.lower(Campaign.name), Campaign.id)
    )
    return [CampaignRole(campaign, role, n) for campaign, role, n in rows]


def members(campaign_id: int) -> list[Membership]:
    """The campaign's members, owners first, then by name and email."""
    rank = db.case({ROLE_OWNER: 0, ROLE_ORGANIZER: 1}, value=Membership.role, else_=2)
    return list(
        db.session.scalars(
            db.select(Membership)
            .join(User, User.id == Membership.user_id)
            .where(Membership.campaign_id == campaign_id)
            .options(db.contains_eager(Membership.user))
            .order_by(rank, db.func.lower(User.name), User.email)
        )
    )


def _membership(campaign_id: int, membership_id: int) -> Membership:
    """The membership if it belongs to this campaign, else NotFound."""
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.campaign_id != campaign_id:
        raise NotFound(membership_id)
    return membership


def _check_owner_remains(campaign_id: int, leaving: Membership) -> None:
    """LastOwner if ``leaving`` is the campaign's only owner.

    The owner rows are locked (PostgreSQL) so two owners demoting each other at once
    cannot both pass; on SQLite the write transaction (BEGIN IMMEDIATE) already serialises.
    """
    if leaving.role != ROLE_OWNER:
        return
    owners = db.session.scalars(
        db.select(Membership.id)
        .where(Membership.campaign_id == campaign_id, Membership.role == ROLE_OWNER)
        .with_for_update()
    ).all()
    if len(owners) <= 1:
        raise LastOwner("A campaign needs at least one owner. Make someone else an owner first.")


def change_role(campaign_id: int, membership_id: int, role: str) -> Membership:
    """Give a member another role, keeping at least one owner."""
    if role not in ROLES:
        raise TeamError("Choose owner, organizer or viewer.")
    with atomic():
        membership = _membership(campaign_id, membership_id)
        if role != ROLE_OWNER:
            _check_owner_remains(campaign_id, membership)
        membership.role = role
    return membership


def remove_member(campaign_id: int, membership_id: int) -> User:
    """Take a member off the team, keeping at least one owner; the user who was removed."""
    with atomic():
        membership = _membership(campaign_id, membership_id)
        _check_owner_remains(campaign_id, membership)
        user = membership.user
        db.session.delete(membership)
    return user


def leave_campaign(campaign_id: int, user_id: int) -> None:
    """The user leaves the team (not if they are its last owner)."""
    with atomic():
        membership = db.session.scalar(
            db.select(Membership).where(Membership.campaign_id == campaign_id, Membership.user_id == user_id)
        )
        if membership is None:
            raise NotFound(campaign_id)
        _check_owner_remains(campaign_id, membership)
        db.session.delete(membership)


# -------------------------------------------------------------------------------------- invites


def create_invite(campaign_id: int, role: str, created_by: User, *, email: str = "",
                  max_age_days: int, now: datetime | None = None) -> tuple[Invite, str]:
    """A new invite and its secret (shown once; only its hash is stored). The caller commits."""
    if role not in INVITE_ROLES:
        raise TeamError("Invite people as organizers or viewers; make owners from the team list.")
    now = now or utcnow()
    secret = new_secret()
    invite = Invite(
        campaign_id=campaign_id, role=role, email=normalise_email(email), token_hash=hash_secret(secret),
        created_by_id=created_by.id, expires_at=now + timedelta(days=max_age_days), created_at=now,
    )
    db.session.add(invite)
    db.session.flush()
    return invite, secret


def invite_to_team(campaign: Campaign, role: str, inviter: User, *, email: str = "", send_email: bool = False,
                   max_age_days: int) -> NewInvite:
    """Make an invite link, and email it to ``email`` when asked (TeamError for a role invites cannot grant)."""
    with atomic():
        invite, secret = create_invite(campaign.id, role, inviter, email=email, max_age_days=max_age_days)
        link = account_mail.invite_link(secret)
        emailed = bool(invite.email and send_email)
        if emailed:
            account_mail.invite(invite.email, campaign, inviter, invite.role, link, invite.expires_at)
    return NewInvite(invite, link, emailed)


def pending_invites(campaign_id: int, now: datetime | None = None) -> list[Invite]:
    """The campaign's invites that are neither used nor expired, newest first."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            db.select(Invite)
            .where(Invite.campaign_id == campaign_id, Invite.used_at.is_(None), Invite.expires_at > now)
            .order_by(Invite.created_at.desc(), Invite.id.desc())
        )
    )


def revoke_invite(campaign_id: int, invite_id: int) -> None:
    """Delete a pending invite so its link stops working."""
    with atomic():
        invite = db.session.get(Invite, invite_id)
        if invite is None or invite.campaign_id != campaign_id or invite.used_at is not None:
            raise NotFound(invite_id)
        db.session.delete(invite)


def find_invite(secret: str, now: datetime | None = None) -> Invite:
    """The invite a link's secret opens, or InviteInvalid saying why not."""
    now = now or utcnow()
    invite = db.session.scalar(db.select(Invite).where(Invite.token_hash == hash_secret(secret or "")))
    if invite is None:
        raise InviteInvalid("That invite link is not valid. It may have been revoked; ask for a new one.")
    if invite.used_at is not None:
        raise InviteInvalid("That invite link has already been used. Ask the campaign for a new one.")
    if invite.expires_at <= now:
        raise InviteInvalid("That invite link has expired. Ask the campaign for a new one.")
    return invite


def accept_invite(secret: str, user: User, now: datetime | None = None) -> Membership:
    """Join the campaign the invite is for, using the invite up. The caller commits.

    An invite bound to an address takes only a user who verified that address (EmailNotVerified
    otherwise); an open invite takes anyone holding the link. The invite is claimed with a conditional UPDATE, so two people racing for one link
    cannot both get in.
    """
    now = now or utcnow()
    invite = find_invite(secret, now)
    if invite.email:
        # Typing an address at sign-up proves nothing: only a verified address may take a bound invite.
        if normalise_email(invite.email) != normalise_email(user.email):
            raise InviteInvalid(
                f"This invite is for {invite.email}. Log in with that address, or ask for an invite to {user.email}."
            )
        if user.email_verified_at is None:
            raise EmailNotVerified(
                f"This invite is for {invite.email}. Confirm your email address first: open the link we "
                "emailed you, or send a new one."
            )
    already = db.session.scalar(
        db.select(Membership).where(Membership.campaign_id == invite.campaign_id, Membership.user_id == user.id)
    )
    if already is not None:
        raise InviteInvalid(f"You are already on the team of {invite.campaign.name}.")
    claimed = db.session.execute(
        db.update(Invite)
        .where(Invite.id == invite.id, Invite.used_at.is_(None), Invite.expires_at > now)
        .values(used_at=now, used_by_id=user.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise InviteInvalid("That invite link has already been used. Ask the campaign for a new one.")
    membership = Membership(campaign_id=invite.campaign_id, user_id=user.id, role=invite.role)
    db.session.add(membership)
    db.session.flush()
    return membership


def join_campaign(secret: str, user: User) -> Membership:
    """The user takes the invite and joins its team (InviteInvalid, or EmailNotVerified, saying why not)."""
    with atomic():
        return accept_invite(secret, user)
