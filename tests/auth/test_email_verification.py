"""Issue 9, item 14: an invite bound to an address takes effect only for a user who proved they own it.

Sign-up emails a signed, expiring link; an address-bound invite is accepted only by a user whose
verified address equals the invite's (case-insensitive). A completed password reset proves the
address too. Unverified users may still start and run their own campaigns.
"""

from __future__ import annotations

import re

import pytest
from itsdangerous import TimestampSigner
from test_auth import GOOD, NEW, link_path, outbox

from rallies.auth import accounts, teams
from rallies.database import atomic
from rallies.extensions import db
from rallies.models import Invite, Membership, User
from tests.factories import campaign_of


@pytest.fixture
def owner(make_user):
    return make_user(email="owner@example.org", name="Olive Owner", campaign="Lee for Mayor")


@pytest.fixture
def campaign(owner):
    return campaign_of(owner)


def bound_invite(campaign, owner, email="Carla@Example.org") -> str:
    """The path of a fresh organizer invite bound to email."""
    with atomic():
        _invite, secret = teams.create_invite(campaign.id, "organizer", owner, email=email, max_age_days=7)
    return f"/auth/invite/{secret}"


def role_of(email, campaign) -> str | None:
    db.session.expire_all()
    return db.session.scalar(
        db.select(Membership.role).join(User, User.id == Membership.user_id)
        .where(User.email == email, Membership.campaign_id == campaign.id))


def user(email) -> User:
    db.session.expire_all()
    return db.session.scalar(db.select(User).where(User.email == email))


def verify_link(to_addr: str) -> str:
    [message] = [m for m in outbox("verify_email") if m.to_addr == to_addr][-1:]
    return link_path(message, "/auth/verify/")


def signup(client, secret="", **fields):
    data = {"name": "Carla", "email": "carla@example.org", "password": GOOD, "campaign_name": ""}
    data.update(fields)
    return client.post("/auth/signup" + (f"?invite={secret}" if secret else ""), data=data)


def test_signing_up_with_someone_elses_address_does_not_inherit_their_invite(app, owner, campaign):
    """The abuse: Mallory signs up as carla@ from the invite link and would have joined the team."""
    path = bound_invite(campaign, owner)
    mallory = app.test_client()
    resp = signup(mallory, path.rsplit("/", 1)[1], name="Mallory")
    assert resp.status_code == 302 and resp.location.endswith(path)
    assert role_of("carla@example.org", campaign) is None
    assert db.session.scalar(db.select(Invite.used_at)) is None
    assert user("carla@example.org").email_verified_at is None
    page = mallory.get(path)
    assert "Confirm your email address" in page.text and "/auth/verify/resend" in page.text
    refused = mallory.post(path)
    assert refused.status_code == 403
    assert "confirm" in refused.text.lower()
    assert role_of("carla@example.org", campaign) is None
    # The proof went to the real Carla's mailbox, not to whoever typed her address.
    assert [m.to_addr for m in outbox("verify_email")] == ["carla@example.org"]


def test_the_emailed_link_confirms_the_address_and_joins_the_invite(app, owner, campaign):
    path = bound_invite(campaign, owner)
    signup(app.test_client(), path.rsplit("/", 1)[1])
    link = verify_link("carla@example.org")
    inbox = app.test_client()  # Carla opens the link in her mail app: no session needed
    page = inbox.get(link)
    assert page.status_code == 200 and "Confirm" in page.text
    assert user("carla@example.org").email_verified_at is None, "a GET (a link scanner) confirms nothing"
    resp = inbox.post(link)
    assert resp.status_code == 302
    assert user("carla@example.org").email_verified_at is not None
    assert role_of("carla@example.org", campaign) == "organizer", "the invite in the link took effect"
    assert db.session.scalar(db.select(Invite.used_at)) is not None


def test_logged_in_unverified_user_resends_then_accepts(app, client, login, make_user, owner, campaign):
    path = bound_invite(campaign, owner, email="CARLA@example.org")
    carla = make_user(email="carla@example.org", campaign=None, verified=False)
    login(client, carla)
    page = client.get(path)
    assert "Confirm your email address" in page.text and "/auth/verify/resend" in page.text
    assert client.post(path).status_code == 403
    # The button on the invite page sends a link that also joins this invite once confirmed.
    resp = client.post("/auth/verify/resend", data={"invite": path.rsplit("/", 1)[1]})
    assert resp.status_code == 302 and resp.location.endswith(path)
    link = verify_link("carla@example.org")
    resp = client.post(link)
    assert resp.status_code == 302 and resp.location.endswith(f"/auth/campaigns/{campaign.id}/team")
    assert user("carla@example.org").email_verified_at is not None
    assert role_of("carla@example.org", campaign) == "organizer"
    assert client.post(path).status_code == 410, "the invite is used up"


def test_resend_never_carries_an_invite_for_another_address(app, client, login, make_user, owner, campaign):
    path = bound_invite(campaign, owner, email="carla@example.org")
    login(client, make_user(email="mallory@example.org", campaign=None, verified=False))
    client.post("/auth/verify/resend", data={"invite": path.rsplit("/", 1)[1]})
    assert client.post(verify_link("mallory@example.org")).status_code == 302
    assert role_of("mallory@example.org", campaign) is None
    assert db.session.scalar(db.select(Invite.used_at)) is None


def test_verified_user_with_another_address_is_still_refused(app, client, login, make_user, owner, campaign):
    path = bound_invite(campaign, owner)
    login(client, make_user(email="mallory@example.org", campaign=None))
    resp = client.post(path)
    assert resp.status_code == 409 and "This invite is for carla@example.org" in resp.text
    assert role_of("mallory@example.org", campaign) is None


def test_service_refuses_unverified_user(app, make_user, owner, campaign):
    carla = make_user(email="carla@example.org", campaign=None, verified=False)
    secret = bound_invite(campaign, owner).rsplit("/", 1)[1]
    with pytest.raises(teams.EmailNotVerified):
        teams.join_campaign(secret, carla)
    assert role_of("carla@example.org", campaign) is None


def test_open_invite_needs_no_verification(app, client, login, make_user, owner, campaign):
    with atomic():
        _invite, secret = teams.create_invite(campaign.id, "viewer", owner, max_age_days=7)
    login(client, make_user(email="dan@example.org", campaign=None, verified=False))
    assert client.post(f"/auth/invite/{secret}").status_code == 302
    assert role_of("dan@example.org", campaign) == "viewer"


def test_unverified_user_runs_their_own_campaign(client):
    resp = signup(client, email="ann@example.org", campaign_name="Ann for Mayor")
    assert resp.status_code == 302 and resp.location.endswith("/organize/")
    ann = user("ann@example.org")
    assert ann.email_verified_at is None and [m.campaign.name for m in ann.memberships] == ["Ann for Mayor"]
    assert len(outbox("verify_email")) == 1
    page = client.get("/auth/campaigns")
    assert "not confirmed" in page.text and "/auth/verify/resend" in page.text


def test_verify_link_tampered_expired_and_for_another_user(app, client, monkeypatch):
    signup(client, email="ann@example.org", campaign_name="Ann for Mayor")
    link = verify_link("ann@example.org")
    bad = client.get(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"))
    assert bad.status_code == 410 and "not valid" in bad.text
    max_age = app.config["EMAIL_VERIFY_MAX_AGE"]
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + max_age + 5)
    late = client.post(link)
    assert late.status_code == 410 and "expired" in late.text
    monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
    assert user("ann@example.org").email_verified_at is None
    assert client.post(link).status_code == 302
    assert user("ann@example.org").email_verified_at is not None


def test_resend_is_rate_limited_per_account(app_factory, make_user, login):
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_VERIFY="2 per hour")
    with app.app_context():
        ann = make_user(email="ann@example.org", verified=False)
        client = app.test_client()
        login(client, ann)
        assert client.post("/auth/verify/resend").status_code == 302
        assert client.post("/auth/verify/resend").status_code == 302
        limited = client.post("/auth/verify/resend", environ_base={"REMOTE_ADDR": "10.9.8.7"})
        assert limited.status_code == 429, "a new IP does not reset the per-account limit"
        assert len(outbox("verify_email")) == 2


def test_resend_for_a_verified_account_sends_nothing(client, login, make_user):
    login(client, make_user(email="ann@example.org"))
    resp = client.post("/auth/verify/resend", follow_redirects=True)
    assert "already confirmed" in resp.text
    assert outbox("verify_email") == []


def test_completed_password_reset_proves_the_address(client, make_user):
    make_user(email="carla@example.org", verified=False)
    client.post("/auth/forgot", data={"email": "carla@example.org"})
    path = link_path(outbox("password_reset")[0], "/auth/reset/")
    assert client.post(path, data={"password": NEW}).status_code == 302
    assert user("carla@example.org").email_verified_at is not None


def test_verification_token_names_user_and_address(app, make_user):
    ann = make_user(email="ann@example.org", verified=False)
    token = accounts.verification_token(ann)
    assert re.fullmatch(r"[A-Za-z0-9_.\-]+", token)
    assert accounts.verify_email(token).user.id == ann.id
    assert user("ann@example.org").email_verified_at is not None


def test_sign_up_is_one_transaction(app, owner, campaign, make_user):
    """An invite used up between showing the form and sending it: no account and no email are left behind."""
    path = bound_invite(campaign, owner, email="")
    secret = path.rsplit("/", 1)[1]
    teams.join_campaign(secret, make_user(email="first@example.org", campaign=None))
    with pytest.raises(teams.InviteInvalid):
        accounts.sign_up("late@example.org", GOOD, name="Late", invite_secret=secret)
    db.session.rollback()
    assert user("late@example.org") is None
    assert [m for m in outbox("verify_email") if m.to_addr == "late@example.org"] == []


def test_sign_up_service_joins_an_open_invite_and_holds_a_bound_one(app, owner, campaign):
    open_secret = bound_invite(campaign, owner, email="").rsplit("/", 1)[1]
    done = accounts.sign_up("dan@example.org", GOOD, invite_secret=open_secret)
    assert (done.membership.role, done.waiting) == ("organizer", False)
    bound_secret = bound_invite(campaign, owner).rsplit("/", 1)[1]
    done = accounts.sign_up("carla@example.org", GOOD, invite_secret=bound_secret)
    assert (done.membership, done.waiting) == (None, True)
    token = verify_link("carla@example.org").rsplit("/", 1)[1]
    assert accounts.read_verification_token(token).invite_secret == bound_secret


def test_send_verification_drops_an_invite_for_another_address(app, make_user, owner, campaign):
    secret = bound_invite(campaign, owner, email="carla@example.org").rsplit("/", 1)[1]
    mallory = make_user(email="mallory@example.org", campaign=None, verified=False)
    accounts.send_verification(mallory, secret)
    accounts.send_verification(mallory, "not-an-invite")
    carla = make_user(email="carla@example.org", campaign=None, verified=False)
    accounts.send_verification(carla, secret)
    db.session.rollback()  # each was committed with its email
    secrets = [accounts.read_verification_token(link_path(m, "/auth/verify/").rsplit("/", 1)[1]).invite_secret
               for m in outbox("verify_email")]
    assert secrets == ["", "", secret]
