"""The campaign's send limit comes after the role check: a viewer always gets 403 and spends none of the quota."""

from __future__ import annotations

import re

import pytest

from tests.factories import campaign_of, make_rally, make_user
from tests.stored import outbox


@pytest.fixture
def limited(app_factory, login):
    """An app allowing 2 sends an hour per campaign; its owner, a viewer, a rally and a logged-in client."""
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_MESSAGES_CAMPAIGN="2 per hour")
    with app.app_context():
        owner = make_user(email="owner-limit@example.org")
        campaign = campaign_of(owner)
        viewer = make_user(email="viewer-limit@example.org", campaign=campaign, role="viewer")
        stranger = make_user(email="stranger-limit@example.org")
        rally = make_rally(campaign)
        client = app.test_client()
        yield dict(client=client, owner=owner, viewer=viewer, stranger=stranger, rally=rally,
                   as_=lambda user: login(client, user))


def _compose(client, rally, **fields):
    data = {"segment": "going", "channel": "email", "subject": "Doors at 5", "body": "Bring water.",
            "sms_body": "", "when": "now", **fields}
    return client.post(f"/organize/rallies/{rally.id}/messages/new", data=data)


def _draft(client, rally) -> str:
    resp = _compose(client, rally, when="draft")
    assert resp.status_code == 303
    return re.search(r"/messages/\d+$", resp.headers["Location"]).group(0)


def _send(client, rally, draft: str):
    return client.post(f"/organize/rallies/{rally.id}{draft}/send")


def test_a_viewer_at_the_limit_gets_403_and_an_organizer_429(limited):
    client, rally = limited["client"], limited["rally"]
    limited["as_"](limited["owner"])
    drafts = [_draft(client, rally) for _ in range(3)]
    assert _send(client, rally, drafts[0]).status_code == 303
    assert _send(client, rally, drafts[1]).status_code == 303  # the limit is reached
    limited["as_"](limited["viewer"])
    assert _send(client, rally, drafts[2]).status_code == 403
    assert _compose(client, rally).status_code == 403
    limited["as_"](limited["stranger"])
    assert _send(client, rally, drafts[2]).status_code == 404  # ids leak nothing, at the limit too
    limited["as_"](limited["owner"])
    assert _send(client, rally, drafts[2]).status_code == 429
    assert _compose(client, rally).status_code == 429


def test_sending_a_draft_and_composing_share_the_campaigns_quota(limited):
    client, rally = limited["client"], limited["rally"]
    limited["as_"](limited["owner"])
    drafts = [_draft(client, rally) for _ in range(2)]
    assert _compose(client, rally).status_code == 303
    assert _send(client, rally, drafts[0]).status_code == 303
    assert _compose(client, rally).status_code == 429
    assert _send(client, rally, drafts[1]).status_code == 429


def test_a_viewers_refused_sends_spend_none_of_the_quota(limited):
    client, rally = limited["client"], limited["rally"]
    limited["as_"](limited["owner"])
    drafts = [_draft(client, rally) for _ in range(3)]
    limited["as_"](limited["viewer"])
    for _ in range(3):
        assert _send(client, rally, drafts[0]).status_code == 403
        assert _compose(client, rally).status_code == 403
    assert outbox() == []
    limited["as_"](limited["owner"])
    assert _send(client, rally, drafts[0]).status_code == 303
    assert _send(client, rally, drafts[1]).status_code == 303
    assert _send(client, rally, drafts[2]).status_code == 429
