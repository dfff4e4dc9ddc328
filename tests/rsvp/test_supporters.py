"""Organizer side: the RSVP list (search, filter, pages, CSV, add, cancel, share links) and supporters
(one per email per campaign, export, deletion that keeps anonymous counts)."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
import sqlalchemy as sa

from rallies.extensions import db
from rallies.models import Rsvp, Supporter
from tests.factories import campaign_of
from tests.stored import counts_from_rows, outbox, rsvp_by_email, stored_counts
from tests.web import rsvp_post, token_from


@pytest.fixture
def owner(make_user):
    return make_user()


@pytest.fixture
def campaign(owner):
    return campaign_of(owner)


@pytest.fixture
def rally(campaign, make_rally):
    return make_rally(campaign, capacity=100, max_guests=3)


@pytest.fixture
def org(client, login, owner):
    login(client, owner)
    return client


def _seed(client, rally):
    people = [
        ("José Álvarez", "jose@example.org", "+13125550101"),
        ("Joan Smith", "joan@example.org", ""),
        ("Ángela Núñez", "angela@example.org", "+13125550199"),
        ("=HYPERLINK(\"http://evil\")", "evil@example.org", ""),
    ]
    for name, email, phone in people:
        assert rsvp_post(client, rally, name=name, email=email, phone=phone).status_code == 303


def _names(resp) -> list[str]:
    html = resp.get_data(as_text=True)
    return [n for n in ("José Álvarez", "Joan Smith", "Ángela Núñez") if n in html]


def test_list_search_ignores_case_and_accents_and_matches_prefixes(org, rally):
    _seed(org, rally)
    base = f"/organize/rallies/{rally.id}/rsvps"
    assert sorted(_names(org.get(base))) == sorted(["José Álvarez", "Joan Smith", "Ángela Núñez"])
    assert _names(org.get(base + "?q=JOS")) == ["José Álvarez"]
    assert sorted(_names(org.get(base + "?q=jo"))) == ["Joan Smith", "José Álvarez"]
    assert _names(org.get(base + "?q=alv")) == ["José Álvarez"]          # last name prefix
    assert _names(org.get(base + "?q=angela@")) == ["Ángela Núñez"]      # email prefix, accents folded
    assert _names(org.get(base + "?q=nunez")) == ["Ángela Núñez"]
    assert _names(org.get(base + "?q=312555019")) == ["Ángela Núñez"]    # phone digits
    assert _names(org.get(base + "?q=%2B1312555010")) == ["José Álvarez"]
    assert _names(org.get(base + "?q=sé")) == []                         # prefix, not substring
    assert _names(org.get(base + "?q=%25")) == []                        # LIKE wildcards are literal


def test_list_status_filter_counters_and_pages(org, campaign, make_rally):
    rally = make_rally(campaign, capacity=2, max_guests=0)
    for i in range(55):
        rsvp_post(org, rally, name=f"P{i:02d} Person", email=f"p{i}@example.org")
    base = f"/organize/rallies/{rally.id}/rsvps"
    html = org.get(base + "?status=going").get_data(as_text=True)
    assert "2 RSVPs match" in html
    page1 = org.get(base).get_data(as_text=True)
    assert "55 RSVPs" in page1 and "Page 1 of 2" in page1
    page2 = org.get(base + "?page=2").get_data(as_text=True)
    assert page2.count("Person</td>") == 5
    assert ">2</span> going" in page1 and ">53</span> waitlisted" in page1
    assert org.get(base + "?page=abc").status_code == 200
    assert org.get(base + "?status=bogus").status_code == 200


def test_csv_export_is_formula_safe(org, rally):
    _seed(org, rally)
    resp = org.get(f"/organize/rallies/{rally.id}/rsvps/export.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert len(rows) == 4
    evil = next(r for r in rows if r["email"] == "evil@example.org")
    assert evil["name"].startswith("'=")
    jose = next(r for r in rows if r["email"] == "jose@example.org")
    assert jose["phone"] == "'+13125550101" or jose["phone"] == "+13125550101"


def test_add_by_hand_and_cancel_someone(org, rally):
    page = org.get(f"/organize/rallies/{rally.id}/rsvps/new").get_data(as_text=True)
    assert re.search(r'name="csrf_token" type="hidden" value="[^"]{20,}"', page)
    resp = org.post(f"/organize/rallies/{rally.id}/rsvps/new",
                    data={"name": "Walk Up", "email": "walk@example.org", "guests": "1"})
    assert resp.status_code == 303
    rsvp = rsvp_by_email(rally, "walk@example.org")
    assert rsvp.status == "going" and rsvp.ref == "organizer" and len(outbox("confirmation", "walk@example.org")) == 1
    bad = org.post(f"/organize/rallies/{rally.id}/rsvps/new", data={"name": "", "email": "nope", "guests": "-2"})
    assert bad.status_code == 422 and 'id="email-error"' in bad.get_data(as_text=True)
    resp = org.post(f"/organize/rallies/{rally.id}/rsvps/{rsvp.id}/cancel")
    assert resp.status_code == 303
    assert rsvp_by_email(rally, "walk@example.org").status == "cancelled"
    assert stored_counts(rally.id) == counts_from_rows(rally.id)


def test_other_campaigns_rallies_are_404(client, login, make_user, rally):
    login(client, make_user(campaign="Someone else"))
    assert client.get(f"/organize/rallies/{rally.id}/rsvps").status_code == 404
    assert client.get(f"/organize/rallies/{rally.id}/rsvps/export.csv").status_code == 404
    assert client.post(f"/organize/rallies/{rally.id}/rsvps/1/cancel").status_code == 404


def test_logged_out_is_sent_to_login(client, rally):
    resp = client.get(f"/organize/rallies/{rally.id}/rsvps")
    assert resp.status_code in (302, 401)


def test_share_link_carries_ref_and_counts(org, rally):
    resp = org.post(f"/organize/rallies/{rally.id}/rsvps/share", data={"ref": "maria", "utm_source": "flyer"})
    html = resp.get_data(as_text=True)
    assert f"http://localhost/r/{rally.slug}/rsvp?ref=maria&amp;utm_source=flyer" in html
    org.get(f"/r/{rally.slug}/rsvp?ref=maria&utm_source=flyer")
    rsvp_post(org, rally, email="viaref@example.org", ref="maria", utm_source="flyer")
    assert rsvp_by_email(rally, "viaref@example.org").ref == "maria"
    html = org.get(f"/organize/rallies/{rally.id}/rsvps/share").get_data(as_text=True)
    assert "<td>maria</td><td>1</td>" in html


def test_one_supporter_per_email_across_rallies(client, campaign, make_rally):
    r1, r2 = make_rally(campaign), make_rally(campaign)
    rsvp_post(client, r1, email="Same@Example.org", name="Sam One")
    rsvp_post(client, r2, email="same@example.org ", name="Sam Two", phone="+13125550111")
    db.session.expire_all()
    people = db.session.scalars(sa.select(Supporter).where(Supporter.email == "same@example.org")).all()
    assert len(people) == 1 and people[0].name == "Sam Two" and people[0].phone == "+13125550111"
    assert {r.supporter_id for r in db.session.scalars(sa.select(Rsvp))} == {people[0].id}


def test_blank_details_never_erase_known_ones(client, campaign, make_rally):
    """The latest RSVP's details win, but a field left blank keeps what the supporter told us before."""
    r1, r2 = make_rally(campaign), make_rally(campaign)
    rsvp_post(client, r1, email="keep@example.org", name="Kim Keep", phone="+13125550111", postal_code="60607")
    rsvp_post(client, r2, email="keep@example.org", name="Kim Keeps", phone="", postal_code="")
    db.session.expire_all()
    person = db.session.scalars(sa.select(Supporter).where(Supporter.email == "keep@example.org")).one()
    assert (person.name, person.phone, person.postal_code) == ("Kim Keeps", "+13125550111", "60607")


def test_export_and_delete_a_person(org, campaign, make_rally):
    r1, r2 = make_rally(campaign, capacity=1), make_rally(campaign)
    t1 = token_from(rsvp_post(org, r1, email="gone@example.org", name="Gone Person", phone="+13125550123",
                              postal_code="60607", guests=0))
    rsvp_post(org, r1, email="stay@example.org", name="Stay Here")
    rsvp_post(org, r2, email="gone@example.org", name="Gone Person", guests=2)
    person = db.session.scalar(sa.select(Supporter).where(Supporter.email == "gone@example.org"))
    base = f"/organize/campaigns/{campaign.id}/supporters"
    assert "gone@example.org" in org.get(base + "?q=gon").get_data(as_text=True)
    export = org.get(f"{base}/{person.id}.json")
    data = json.loads(export.data)
    assert data["supporter"]["email"] == "gone@example.org" and len(data["rsvps"]) == 2
    assert {m["kind"] for m in data["emails"]} == {"confirmation"}
    before = (stored_counts(r1.id), stored_counts(r2.id))
    assert org.get(f"{base}/{person.id}/delete").status_code == 200  # confirmation page
    assert org.post(f"{base}/{person.id}/delete").status_code == 303
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Rsvp).where(Rsvp.supporter_id == person.id)).all()
    assert len(rows) == 2
    for r in rows:
        assert (r.name, r.email, r.phone, r.postal_code, r.search_name) == ("", None, "", "", "")
        assert r.door_name == "Deleted"
    assert (stored_counts(r1.id), stored_counts(r2.id)) == before  # counts stay true
    assert outbox(to="gone@example.org") == []
    assert len(outbox(to="stay@example.org")) == 1
    person = db.session.get(Supporter, person.id)
    assert person.email is None and person.deleted_at is not None
    assert org.get(f"/t/{t1}").status_code == 404  # the old ticket link no longer works
    assert org.get(f"{base}/{person.id}.json").status_code == 404
    assert "Gone Person" not in org.get(f"/organize/rallies/{r1.id}/rsvps").get_data(as_text=True)
    # Another campaign's organizer cannot reach anyone here.


def test_supporters_of_another_campaign_are_404(client, login, make_user, campaign, make_rally):
    rally = make_rally(campaign)
    rsvp_post(client, rally, email="x@example.org")
    person = db.session.scalar(sa.select(Supporter))
    login(client, make_user(campaign="Other"))
    base = f"/organize/campaigns/{campaign.id}/supporters"
    assert client.get(base).status_code == 404
    assert client.get(f"{base}/{person.id}.json").status_code == 404
    assert client.post(f"{base}/{person.id}/delete").status_code == 404


def test_search_with_control_characters_is_not_a_500(org, rally, campaign):
    _seed(org, rally)
    assert org.get(f"/organize/rallies/{rally.id}/rsvps?q=jo%07").status_code == 200
    assert org.get(f"/organize/rallies/{rally.id}/rsvps?q=jo%00").status_code in (200, 400)
    assert org.get(f"/organize/campaigns/{campaign.id}/supporters?q=%07").status_code == 200
    resp = org.post(f"/organize/rallies/{rally.id}/rsvps/share", data={"ref": "a\x07b"})
    assert resp.status_code == 200 and "%07" not in resp.get_data(as_text=True)
