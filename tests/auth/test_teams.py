"""Campaign teams through the test client: campaigns, invites, roles, the last owner, isolation."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest

from rallies.auth import teams
from rallies.database import atomic
from rallies.extensions import db
from rallies.models import Campaign, Invite, Membership, OutboxMessage, utcnow
from tests.factories import campaign_of

GOOD = "correct horse battery"


def invite_link(resp) -> str:
    """The path of the invite link shown once on the team page after creating it."""
    found = re.search(r'id="invite-link" type="text" readonly value="http://localhost(/auth/invite/[^"]+)"', resp.text)
    assert found, resp.text
    return found.group(1)


def make_invite(client, campaign, **data) -> str:
    data = {"role": "organizer", "email": "", "send_email": "", **data}
    resp = client.post(f"/auth/campaigns/{campaign.id}/invites", data=data)
    assert resp.status_code == 201, resp.text
    return invite_link(resp)


def role_of(user, campaign) -> str | None:
    db.session.expire_all()
    return db.session.scalar(
        db.select(Membership.role).where(Membership.user_id == user.id, Membership.campaign_id == campaign.id)
    )


def membership_of(user, campaign) -> Membership:
    return db.session.scalar(
        db.select(Membership).where(Membership.user_id == user.id, Membership.campaign_id == campaign.id)
    )


@pytest.fixture
def owner(make_user):
    return make_user(email="owner@example.org", name="Olive Owner", campaign="Lee for Mayor")


@pytest.fixture
def campaign(owner):
    return campaign_of(owner)


@pytest.fixture
def other_campaign(make_user):
    """Someone else's campaign, with a member and a pending invite, for isolation tests."""
    stranger = make_user(email="stranger@example.org", campaign="Rival campaign")
    rival = campaign_of(stranger)
    with atomic():
        invite, _ = teams.create_invite(rival.id, "viewer", stranger, max_age_days=7)
    return rival, membership_of(stranger, rival), invite


# ----------------------------------------------------------------------------------------- campaigns


def test_campaign_list_and_create(client, login, owner, campaign):
    login(client, owner)
    page = client.get("/auth/campaigns")
    assert page.status_code == 200
    assert "Lee for Mayor" in page.text and f"/auth/campaigns/{campaign.id}/team" in page.text
    resp = client.post("/auth/campaigns/new", data={"name": "  Senate 2028 "})
    assert resp.status_code == 302
    created = db.session.scalar(db.select(Campaign).where(Campaign.name == "Senate 2028"))
    assert resp.location.endswith(f"/auth/campaigns/{created.id}/team")
    assert role_of(owner, created) == "owner"


@pytest.mark.parametrize(("name", "message"), [("", "Name your campaign."), ("x" * 121, "Use at most 120 characters.")])
def test_campaign_name_errors(client, login, owner, campaign, name, message):
    login(client, owner)
    resp = client.post("/auth/campaigns/new", data={"name": name})
    assert resp.status_code == 400
    assert message in resp.text
    resp = client.post(f"/auth/campaigns/{campaign.id}/name", data={"name": name})
    assert resp.status_code == 400
    assert message in resp.text
    assert db.session.scalar(db.select(db.func.count(Campaign.id))) == 1


def test_owner_renames_campaign_and_name_is_escaped(client, login, owner, campaign):
    login(client, owner)
    resp = client.post(f"/auth/campaigns/{campaign.id}/name", data={"name": "<b>Lee</b> & Co"})
    assert resp.status_code == 302
    page = client.get(f"/auth/campaigns/{campaign.id}/team")
    assert "&lt;b&gt;Lee&lt;/b&gt; &amp; Co" in page.text and "<b>Lee</b>" not in page.text


# ------------------------------------------------------------------------------------------- invites


def test_invite_stores_only_hash_and_accepting_adds_member(app, client, login, owner, campaign, make_user):
    login(client, owner)
    path = make_invite(client, campaign, role="viewer")
    secret = path.rsplit("/", 1)[1]
    invite = db.session.scalar(db.select(Invite))
    assert invite.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr([getattr(invite, c.key) for c in Invite.__table__.columns])
    assert invite.expires_at - utcnow() > timedelta(days=app.config["INVITE_MAX_AGE_DAYS"] - 1)

    bob = make_user(email="bob@example.org", campaign=None)
    bob_client = app.test_client()
    login(bob_client, bob)
    page = bob_client.get(path)
    assert page.status_code == 200 and "Lee for Mayor" in page.text and "viewer" in page.text
    resp = bob_client.post(path)
    assert resp.status_code == 302 and resp.location.endswith(f"/auth/campaigns/{campaign.id}/team")
    assert role_of(bob, campaign) == "viewer"
    invite = db.session.scalar(db.select(Invite))
    assert invite.used_by_id == bob.id and invite.used_at is not None


def test_invite_can_be_emailed(client, login, owner, campaign):
    login(client, owner)
    path = make_invite(client, campaign, email="Carla@Example.org", send_email="y")
    [message] = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.kind == "invite")).all()
    assert message.to_addr == "carla@example.org"
    assert path.encode() in message.body


def test_invite_without_address_is_link_only(client, login, owner, campaign):
    login(client, owner)
    make_invite(client, campaign, role="viewer", send_email="y")
    assert db.session.scalar(db.select(Invite.email)) == ""
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0


def test_invite_bound_to_address_without_email(client, login, owner, campaign):
    login(client, owner)
    make_invite(client, campaign, email="carla@example.org", send_email="")
    assert db.session.scalar(db.select(Invite.email)) == "carla@example.org"
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"role": "owner"}, "Not a valid choice"),
        ({"role": "admin"}, "Not a valid choice"),
        ({"role": "viewer", "email": "not-an-email", "send_email": "y"}, "Enter a valid email address."),
        ({"role": "viewer", "email": "a" * 250 + "@x.org"}, "Use at most 254 characters."),
    ],
)
def test_invite_bad_input(client, login, owner, campaign, data, message):
    login(client, owner)
    resp = client.post(f"/auth/campaigns/{campaign.id}/invites", data=data)
    assert resp.status_code == 400
    assert message in resp.text
    assert db.session.scalar(db.select(db.func.count(Invite.id))) == 0


def test_invite_reused(app, client, login, owner, campaign, make_user):
    login(client, owner)
    path = make_invite(client, campaign)
    first, second = make_user(campaign=None), make_user(campaign=None)
    c1, c2 = app.test_client(), app.test_client()
    login(c1, first)
    login(c2, second)
    assert c1.post(path).status_code == 302
    resp = c2.post(path)
    assert resp.status_code == 410
    assert "already been used" in resp.text
    assert role_of(second, campaign) is None


def test_invite_to_team_commits_and_emails_only_when_asked(app, owner, campaign):
    quiet = teams.invite_to_team(campaign, "viewer", owner, email="Carla@Example.org", max_age_days=7)
    sent = teams.invite_to_team(campaign, "organizer", owner, email="dan@example.org", send_email=True,
                                max_age_days=7)
    db.session.rollback()  # committed already, invites and email together
    assert (quiet.emailed, sent.emailed) == (False, True)
    assert quiet.link.startswith("http://localhost/auth/invite/")
    assert teams.find_invite(quiet.link.rsplit("/", 1)[1]).email == "carla@example.org"
    [message] = db.session.scalars(db.select(OutboxMessage)).all()
    assert message.kind == "invite" and message.to_addr == "dan@example.org"
    with pytest.raises(teams.TeamError):
        teams.invite_to_team(campaign, "owner", owner, max_age_days=7)


def test_invite_expired(app, client, login, owner, campaign, make_user):
    with atomic():
        _, secret = teams.create_invite(campaign.id, "organizer", owner, max_age_days=7,
                                        now=utcnow() - timedelta(days=7, seconds=1))
    late = make_user(campaign=None)
    login(client, late)
    resp = client.post(f"/auth/invite/{secret}")
    assert resp.status_code == 410
    assert "expired" in resp.text
    assert role_of(late, campaign) is None
    login(client, owner)
    assert "No pending invites." in client.get(f"/auth/campaigns/{campaign.id}/team").text


def test_invite_for_another_email_refuses_wrong_user(app, client, login, owner, campaign, make_user):
    login(client, owner)
    path = make_invite(client, campaign, email="carla@example.org")
    wrong = make_user(email="mallory@example.org", campaign=None)
    other = app.test_client()
    login(other, wrong)
    resp = other.post(path)
    assert resp.status_code == 409
    assert "This invite is for carla@example.org" in resp.text
    assert role_of(wrong, campaign) is None
    carla = make_user(email="carla@example.org", campaign=None)
    login(other, carla)
    assert other.post(path).status_code == 302, "the refusal did not use the invite up"
    assert role_of(carla, campaign) == "organizer"


def test_invite_for_existing_member_is_refused(client, login, owner, campaign):
    login(client, owner)
    path = make_invite(client, campaign)
    resp = client.post(path)
    assert resp.status_code == 409
    assert "already on the team" in resp.text
    assert role_of(owner, campaign) == "owner"


def test_anonymous_sees_invite_then_signs_up_and_joins(app, client, login, owner, campaign):
    login(client, owner)
    path = make_invite(client, campaign, role="viewer")
    secret = path.rsplit("/", 1)[1]
    newcomer = app.test_client()
    page = newcomer.get(path)
    assert page.status_code == 200
    assert f"/auth/signup?invite={secret}" in page.text and "/auth/login?next=" in page.text
    assert newcomer.post(path).status_code == 200, "an anonymous POST accepts nothing"
    assert db.session.scalar(db.select(Invite.used_at)) is None

    resp = newcomer.post(f"/auth/signup?invite={secret}",
                         data={"name": "Nia", "email": "nia@example.org", "password": GOOD, "campaign_name": ""})
    assert resp.status_code == 302 and resp.location.endswith(f"/auth/campaigns/{campaign.id}/team")
    memberships = db.session.scalars(
        db.select(Membership).join(Membership.user).where(Membership.user.has(email="nia@example.org"))
    ).all()
    assert [(m.campaign_id, m.role) for m in memberships] == [(campaign.id, "viewer")]
    assert newcomer.get(f"/auth/campaigns/{campaign.id}/team").status_code == 200


def test_signup_with_dead_invite_says_so_and_needs_campaign(client):
    resp = client.get("/auth/signup?invite=not-a-real-secret")
    assert "not valid" in resp.text
    resp = client.post("/auth/signup?invite=not-a-real-secret",
                       data={"name": "Nia", "email": "nia@example.org", "password": GOOD, "campaign_name": ""})
    assert resp.status_code == 400
    assert "Name your campaign." in resp.text


def test_login_then_accept(app, client, login, owner, campaign, make_user):
    login(client, owner)
    path = make_invite(client, campaign)
    make_user(email="dee@example.org", password=GOOD, campaign=None)
    dee = app.test_client()
    resp = dee.post(f"/auth/login?next={path}", data={"email": "dee@example.org", "password": GOOD})
    assert resp.location.endswith(path)
    assert dee.post(path).status_code == 302


def test_revoke_invite_kills_link(app, client, login, owner, campaign, make_user):
    login(client, owner)
    path = make_invite(client, campaign)
    invite = db.session.scalar(db.select(Invite))
    resp = client.post(f"/auth/campaigns/{campaign.id}/invites/{invite.id}/revoke")
    assert resp.status_code == 302
    late = make_user(campaign=None)
    login(client, late)
    assert client.get(path).status_code == 410
    assert client.post(path).status_code == 410
    assert role_of(late, campaign) is None


# --------------------------------------------------------------------------------------------- roles


@pytest.fixture
def team_of_three(make_user, campaign):
    """An organizer and a viewer on the owner's campaign."""
    organizer = make_user(email="org@example.org", campaign=campaign, role="organizer")
    viewer = make_user(email="viewer@example.org", campaign=campaign, role="viewer")
    return organizer, viewer


def test_viewer_reads_but_cannot_invite_or_change(client, login, campaign, team_of_three):
    organizer, viewer = team_of_three
    login(client, viewer)
    page = client.get(f"/auth/campaigns/{campaign.id}/team")
    assert page.status_code == 200 and "org@example.org" in page.text
    assert "Create invite link" not in page.text and "Change role" not in page.text
    target = membership_of(organizer, campaign).id
    assert client.post(f"/auth/campaigns/{campaign.id}/invites", data={"role": "viewer"}).status_code == 403
    assert client.post(f"/auth/campaigns/{campaign.id}/members/{target}/role", data={"role": "viewer"}).status_code == 403
    assert client.post(f"/auth/campaigns/{campaign.id}/members/{target}/remove").status_code == 403
    assert client.post(f"/auth/campaigns/{campaign.id}/name", data={"name": "Mine"}).status_code == 403
    assert role_of(organizer, campaign) == "organizer"
    assert db.session.scalar(db.select(db.func.count(Invite.id))) == 0


def test_organizer_invites_but_cannot_change_roles(client, login, campaign, team_of_three):
    organizer, viewer = team_of_three
    login(client, organizer)
    page = client.get(f"/auth/campaigns/{campaign.id}/team")
    assert "Create invite link" in page.text and "Change role" not in page.text
    make_invite(client, campaign, role="viewer")
    invite = db.session.scalar(db.select(Invite))
    me = membership_of(organizer, campaign).id
    target = membership_of(viewer, campaign).id
    assert client.post(f"/auth/campaigns/{campaign.id}/members/{me}/role", data={"role": "owner"}).status_code == 403
    assert client.post(f"/auth/campaigns/{campaign.id}/members/{target}/role", data={"role": "organizer"}).status_code == 403
    assert client.post(f"/auth/campaigns/{campaign.id}/members/{target}/remove").status_code == 403
    assert (role_of(organizer, campaign), role_of(viewer, campaign)) == ("organizer", "viewer")
    assert client.post(f"/auth/campaigns/{campaign.id}/invites/{invite.id}/revoke").status_code == 302


def test_owner_changes_roles_and_removes(client, login, owner, campaign, team_of_three):
    organizer, viewer = team_of_three
    login(client, owner)
    target = membership_of(viewer, campaign).id
    resp = client.post(f"/auth/campaigns/{campaign.id}/members/{target}/role", data={"role": "organizer"})
    assert resp.status_code == 302
    assert role_of(viewer, campaign) == "organizer"
    resp = client.post(f"/auth/campaigns/{campaign.id}/members/{target}/role", data={"role": "boss"})
    assert resp.status_code == 400 and "Choose owner, organizer or viewer." in resp.text
    assert client.post(f"/auth/campaigns/{campaign.id}/members/{target}/remove").status_code == 302
    assert role_of(viewer, campaign) is None
    assert client.get(f"/auth/campaigns/{campaign.id}/team").status_code == 200


def test_removed_member_loses_access(app, client, login, owner, campaign, team_of_three):
    organizer, _ = team_of_three
    org_client = app.test_client()
    login(org_client, organizer)
    assert org_client.get(f"/auth/campaigns/{campaign.id}/team").status_code == 200
    login(client, owner)
    client.post(f"/auth/campaigns/{campaign.id}/members/{membership_of(organizer, campaign).id}/remove")
    assert org_client.get(f"/auth/campaigns/{campaign.id}/team").status_code == 404


def test_last_owner_cannot_be_demoted_removed_or_leave(client, login, owner, campaign, team_of_three):
    login(client, owner)
    me = membership_of(owner, campaign).id
    for resp in (
        client.post(f"/auth/campaigns/{campaign.id}/members/{me}/role", data={"role": "organizer"}),
        client.post(f"/auth/campaigns/{campaign.id}/members/{me}/remove"),
        client.post(f"/auth/campaigns/{campaign.id}/leave"),
    ):
        assert resp.status_code == 409
        assert "A campaign needs at least one owner." in resp.text
    assert role_of(owner, campaign) == "owner"


def test_with_two_owners_one_may_step_down(client, login, owner, campaign, team_of_three):
    organizer, _ = team_of_three
    login(client, owner)
    other = membership_of(organizer, campaign).id
    assert client.post(f"/auth/campaigns/{campaign.id}/members/{other}/role", data={"role": "owner"}).status_code == 302
    me = membership_of(owner, campaign).id
    assert client.post(f"/auth/campaigns/{campaign.id}/members/{me}/role", data={"role": "viewer"}).status_code == 302
    assert (role_of(owner, campaign), role_of(organizer, campaign)) == ("viewer", "owner")
    # Now the former organizer is the last owner.
    login(client, organizer)
    assert client.post(f"/auth/campaigns/{campaign.id}/leave").status_code == 409


def test_member_leaves(client, login, campaign, team_of_three):
    _, viewer = team_of_three
    login(client, viewer)
    resp = client.post(f"/auth/campaigns/{campaign.id}/leave")
    assert resp.status_code == 302 and resp.location.endswith("/auth/campaigns")
    assert role_of(viewer, campaign) is None


# ----------------------------------------------------------------------------------------- isolation
# One test per route that takes an id: another campaign's id (or a member or invite of another
# campaign under our own campaign's id) is a 404, and nothing changes.


def test_isolation_team_page(client, login, owner, other_campaign):
    rival, _, _ = other_campaign
    login(client, owner)
    assert client.get(f"/auth/campaigns/{rival.id}/team").status_code == 404
    assert client.get("/auth/campaigns/999999/team").status_code == 404


def test_isolation_rename(client, login, owner, other_campaign):
    rival, _, _ = other_campaign
    login(client, owner)
    assert client.post(f"/auth/campaigns/{rival.id}/name", data={"name": "Pwned"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Campaign, rival.id).name == "Rival campaign"


def test_isolation_create_invite(client, login, owner, other_campaign):
    rival, _, _ = other_campaign
    login(client, owner)
    assert client.post(f"/auth/campaigns/{rival.id}/invites", data={"role": "organizer"}).status_code == 404
    assert db.session.scalar(db.select(db.func.count(Invite.id))) == 1


def test_isolation_revoke_invite(client, login, owner, campaign, other_campaign):
    rival, _, rival_invite = other_campaign
    login(client, owner)
    assert client.post(f"/auth/campaigns/{rival.id}/invites/{rival_invite.id}/revoke").status_code == 404
    assert client.post(f"/auth/campaigns/{campaign.id}/invites/{rival_invite.id}/revoke").status_code == 404
    assert db.session.get(Invite, rival_invite.id) is not None


def test_isolation_change_role(client, login, owner, campaign, other_campaign):
    rival, rival_owner, _ = other_campaign
    login(client, owner)
    url = "/auth/campaigns/{}/members/{}/role"
    assert client.post(url.format(rival.id, rival_owner.id), data={"role": "viewer"}).status_code == 404
    assert client.post(url.format(campaign.id, rival_owner.id), data={"role": "viewer"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Membership, rival_owner.id).role == "owner"


def test_isolation_remove_member(client, login, owner, campaign, other_campaign):
    rival, rival_owner, _ = other_campaign
    login(client, owner)
    assert client.post(f"/auth/campaigns/{rival.id}/members/{rival_owner.id}/remove").status_code == 404
    assert client.post(f"/auth/campaigns/{campaign.id}/members/{rival_owner.id}/remove").status_code == 404
    assert db.session.get(Membership, rival_owner.id) is not None


def test_isolation_leave(client, login, owner, other_campaign):
    rival, _, _ = other_campaign
    login(client, owner)
    assert client.post(f"/auth/campaigns/{rival.id}/leave").status_code == 404


def test_isolation_campaign_list_shows_only_own(client, login, owner, other_campaign):
    login(client, owner)
    page = client.get("/auth/campaigns")
    assert "Lee for Mayor" in page.text and "Rival campaign" not in page.text


# ---------------------------------------------------------------------------------------- concurrency


def _race(app, jobs):
    """Run each job(in its own app context and session) at the same moment; return results or exceptions."""
    import threading

    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(i, job):
        with app.app_context():
            barrier.wait()
            try:
                results[i] = job()
            except Exception as exc:  # noqa: BLE001 (collected for the assertions)
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.slow
def test_one_invite_admits_one_person_under_a_race(app, owner, campaign, make_user):
    from rallies.models import User

    with atomic():
        _, secret = teams.create_invite(campaign.id, "organizer", owner, max_age_days=7)
    user_ids = [make_user(campaign=None).id for _ in range(6)]

    def accept(user_id):
        def job():
            return teams.join_campaign(secret, db.session.get(User, user_id)).user_id
        return job

    results = _race(app, [accept(uid) for uid in user_ids])
    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1, results
    assert all(isinstance(r, teams.InviteInvalid) for r in results if not isinstance(r, int)), results
    db.session.rollback()  # end this session's read snapshot to see the threads' commits
    joined = db.session.scalars(
        db.select(Membership.user_id).where(Membership.campaign_id == campaign.id, Membership.role == "organizer")
    ).all()
    assert joined == winners


@pytest.mark.slow
def test_two_owners_stepping_down_at_once_leave_one_owner(app, owner, campaign, make_user):
    second = make_user(campaign=campaign, role="owner")
    ids = [membership_of(owner, campaign).id, membership_of(second, campaign).id]

    def demote(membership_id):
        def job():
            return teams.change_role(campaign.id, membership_id, "organizer").id
        return job

    results = _race(app, [demote(i) for i in ids])
    assert sum(isinstance(r, teams.LastOwner) for r in results) == 1, results
    db.session.rollback()  # end this session's read snapshot to see the threads' commits
    owners = db.session.scalar(
        db.select(db.func.count(Membership.id)).where(Membership.campaign_id == campaign.id, Membership.role == "owner")
    )
    assert owners == 1
