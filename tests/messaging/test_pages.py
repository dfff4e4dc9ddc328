"""The organizer's pages through HTTP: compose, roles, preview, the message page and its log."""

from __future__ import annotations

import re

import pytest

from rallies.models import CampaignMessage
from tests.factories import campaign_of, make_user
from tests.messaging.people import add_person, consented
from tests.stored import fresh, outbox


def _compose(client, rally, **fields):
    data = {"segment": "going", "channel": "email", "subject": "Doors at 5", "body": "Bring water.",
            "sms_body": "", "when": "now"}
    data.update(fields)
    return client.post(f"/organize/rallies/{rally.id}/messages/new", data=data)


def _message_id(response) -> int:
    return int(re.search(r"/messages/(\d+)$", response.headers["Location"]).group(1))


def test_organizer_sends_now_and_the_message_page_shows_counts(organizer_client, owner, rally):
    for i in range(3):
        add_person(rally, f"P{i}")
    page = organizer_client.get(f"/organize/rallies/{rally.id}/messages/new")
    assert page.status_code == 200 and 'data-count="recipients">3<' in page.get_data(as_text=True)
    resp = _compose(organizer_client, rally)
    assert resp.status_code == 303
    message_id = _message_id(resp)
    assert len(outbox(kind="campaign_message")) == 3
    stored = fresh(CampaignMessage, message_id)
    assert (stored.status, stored.sent_by_id, stored.sent_by_email) == ("queued", owner.id, owner.email)
    html = organizer_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'id="n-queued">3<' in html and 'id="n-sent">0<' in html and "Bring water." in html
    assert owner.email in html
    log = organizer_client.get(f"/organize/rallies/{rally.id}/messages").get_data(as_text=True)
    assert "Doors at 5" in log
    manage = organizer_client.get(f"/organize/rallies/{rally.id}").get_data(as_text=True)
    assert f"/organize/rallies/{rally.id}/messages" in manage


def test_a_draft_is_sent_once_however_often_send_is_clicked(organizer_client, rally):
    add_person(rally)
    message_id = _message_id(_compose(organizer_client, rally, when="draft"))
    assert outbox() == []
    url = f"/organize/rallies/{rally.id}/messages/{message_id}/send"
    assert organizer_client.post(url).status_code == 303
    assert organizer_client.post(url).status_code == 303
    assert len(outbox()) == 1


def test_missing_fields_are_shown_next_to_the_field(organizer_client, rally):
    resp = _compose(organizer_client, rally, subject="", channel="both", sms_body="")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Write a subject for the email." in html and "Write the SMS text." in html
    assert fresh(CampaignMessage, 1) is None


@pytest.mark.parametrize("method,path", [("get", "/new"), ("post", "/new"), ("post", "/{m}/send"),
                                         ("get", "/{m}/preview/{r}")])
def test_viewers_cannot_compose_preview_or_send(app, client, login, owner, rally, method, path):
    rsvp_id = add_person(rally)
    viewer = make_user(email="viewer@example.org", campaign=campaign_of(owner), role="viewer")
    login(client, owner)
    message_id = _message_id(_compose(client, rally, when="draft"))
    login(client, viewer)
    url = f"/organize/rallies/{rally.id}/messages" + path.format(m=message_id, r=rsvp_id)
    resp = getattr(client, method)(url, data={"segment": "going", "channel": "email", "subject": "x", "body": "x",
                                              "when": "now"})
    assert resp.status_code == 403
    assert outbox() == []
    assert client.get(f"/organize/rallies/{rally.id}/messages/{message_id}").status_code == 200  # may read


def test_preview_as_a_spanish_supporter_found_by_name(organizer_client, rally):
    add_person(rally, "John Smith")
    rsvp_id = add_person(rally, "Lucía Fernández", locale="es", **consented())
    message_id = _message_id(_compose(
        organizer_client, rally, when="draft", channel="both", body="Hello all", sms_body="See you",
        es_subject="Hola", es_body="Hola a todos", es_sms_body="Nos vemos"))
    show = organizer_client.get(f"/organize/rallies/{rally.id}/messages/{message_id}", query_string={"q": "luc"})
    html = show.get_data(as_text=True)
    assert "Lucía Fernández" in html and "John Smith" not in html
    preview = organizer_client.get(f"/organize/rallies/{rally.id}/messages/{message_id}/preview/{rsvp_id}")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert '<strong id="preview-locale">es</strong>' in html
    assert "Hola a todos" in html and "Hello all" not in html
    assert "Lucía Fernández" in html
    assert "Nos vemos" in html


def test_preview_of_someone_outside_the_segment_is_404(organizer_client, rally):
    rsvp_id = add_person(rally, "Waiting", status="waitlisted")
    message_id = _message_id(_compose(organizer_client, rally, when="draft"))
    url = f"/organize/rallies/{rally.id}/messages/{message_id}/preview/{rsvp_id}"
    assert organizer_client.get(url).status_code == 404


def test_sending_is_rate_limited_per_campaign(app_factory, login):
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_MESSAGES_CAMPAIGN="2 per hour")
    with app.app_context():
        from tests.factories import make_rally

        owner = make_user()
        rally = make_rally(campaign_of(owner))
        other_rally = make_rally(campaign_of(owner))
        client = app.test_client()
        login(client, owner)
        assert _compose(client, rally, subject="", body="").status_code == 422  # a refused form costs nothing
        assert _compose(client, rally, when="draft").status_code == 303  # nor does a draft
        assert _compose(client, rally).status_code == 303
        assert _compose(client, other_rally).status_code == 303
        assert _compose(client, rally).status_code == 429  # the campaign's, not the rally's, budget


def test_junk_in_the_compose_form_is_a_form_error_not_a_500(organizer_client, rally):
    resp = _compose(organizer_client, rally, segment="<nope>", channel="fax", when="sometime")
    assert resp.status_code == 422
    assert "Not a valid choice" in resp.get_data(as_text=True)
