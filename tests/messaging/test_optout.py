"""Opting out: the unsubscribe link, RFC 8058 one-click, the preferences page, forged tokens."""

from __future__ import annotations

import email
from email import policy

import pytest

from rallies.database import atomic
from rallies.extensions import db
from rallies.mail import delivery
from rallies.messaging import compose, optout, queueing
from rallies.models import Rsvp, Supporter, utcnow
from rallies.rsvp import notices
from tests.messaging.people import add_person, consented, draft
from tests.stored import fresh, outbox


def _send(owner, rally) -> int:
    return queueing.queue_message(compose.create_message(rally, owner, draft()), owner)


def _unsubscribe_path(row) -> str:
    msg = email.message_from_bytes(delivery.render_body(row), policy=policy.default)
    return msg["List-Unsubscribe"].strip("<>").removeprefix("http://localhost")


@pytest.mark.parametrize("how", ["one-click", "button"])
def test_unsubscribe_stops_the_next_campaign_message_but_not_the_ticket(app, client, owner, rally, how):
    rsvp_id = add_person(rally, "Ana")
    add_person(rally, "Ben")
    assert _send(owner, rally) == 2
    queued = outbox(kind="campaign_message")
    path = _unsubscribe_path(queued[0])
    assert client.get(path).status_code == 200  # a confirm page; a link scanner's GET changes nothing
    supporter_id = db.session.get(Rsvp, rsvp_id).supporter_id
    assert fresh(Supporter, supporter_id).email_opt_out_at is None
    if how == "one-click":  # what a mail provider sends (RFC 8058): no cookie, no CSRF token
        resp = app.test_client().post(path, data="List-Unsubscribe=One-Click",
                                      content_type="application/x-www-form-urlencoded")
    else:
        resp = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 200
    assert fresh(Supporter, supporter_id).email_opt_out_at is not None
    assert client.post(path).status_code == 200  # idempotent
    # The next message skips them; the one already queued is dropped when the sender gets to it.
    assert _send(owner, rally) == 1
    with atomic():
        notices.ticket_email(db.session.get(Rsvp, rsvp_id), "resend")
    delivery.deliver_pending()
    sent = [(r.kind, r.rsvp_id) for r in outbox() if r.status == "sent"]
    assert ("confirmation", rsvp_id) in sent
    assert not any(kind == "campaign_message" and rid == rsvp_id for kind, rid in sent)
    assert sum(1 for kind, _ in sent if kind == "campaign_message") == 2  # Ben's two


@pytest.mark.parametrize("token", ["MQ.forged", "x", "MQ", "Mg.yVEhdX4QtBwdlW4SWLLjahP7Sbs", "%00", "a" * 300])
def test_forged_tokens_are_4xx_never_500(app, client, token):
    for method, path in (("get", f"/u/{token}"), ("post", f"/u/{token}"), ("get", f"/u/p/{token}"),
                         ("post", f"/u/p/{token}")):
        status = getattr(client, method)(path).status_code
        assert 400 <= status < 500, (method, path, status)


def test_a_preferences_token_is_not_an_unsubscribe_token(client, rally):
    rsvp_id = add_person(rally)
    supporter_id = db.session.get(Rsvp, rsvp_id).supporter_id
    assert client.post(f"/u/{optout.preferences_token(supporter_id)}").status_code == 404
    assert fresh(Supporter, supporter_id).email_opt_out_at is None


def test_preferences_page_sets_language_email_and_sms(client, rally):
    rsvp_id = add_person(rally, **consented())
    supporter_id = db.session.get(Rsvp, rsvp_id).supporter_id
    path = f"/u/p/{optout.preferences_token(supporter_id)}"
    assert client.get(path).status_code == 200
    assert client.post(path, data={"locale": "es"}).status_code == 303  # both boxes unticked
    s = fresh(Supporter, supporter_id)
    assert (s.locale, s.email_opt_out_at is not None, s.sms_stopped_at is not None) == ("es", True, True)
    client.post(path, data={"locale": "en", "campaign_email": "y", "sms": "y"})
    s = fresh(Supporter, supporter_id)
    assert (s.locale, s.email_opt_out_at, s.sms_stopped_at) == ("en", None, None)


def test_sms_on_never_creates_consent(client, rally):
    rsvp_id = add_person(rally, phone="+13125550100", sms_stopped_at=utcnow())
    supporter_id = db.session.get(Rsvp, rsvp_id).supporter_id
    client.post(f"/u/p/{optout.preferences_token(supporter_id)}", data={"locale": "en", "sms": "y"})
    s = fresh(Supporter, supporter_id)
    assert s.sms_opt_in_at is None and s.sms_stopped_at is not None


def test_the_ticket_page_links_to_preferences(client, rally):
    from tests.factories import make_rsvp

    result = make_rsvp(rally, name="Ana", email="ana@example.org")
    html = client.get(f"/t/{result.token}").get_data(as_text=True)
    supporter_id = db.session.get(Rsvp, result.rsvp_id).supporter_id
    assert f"/u/p/{optout.preferences_token(supporter_id)}" in html
