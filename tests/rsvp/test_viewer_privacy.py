"""Issue 9, item 10: one rule for what a viewer sees, checked on every surface a viewer can reach.

The rule (auth.roles.can_see_contacts): viewers see names, statuses and counts, never a
supporter's email, phone or ZIP code, and cannot search by them; organizers and owners see all.
"""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from rallies.extensions import db
from rallies.models import Supporter
from tests.factories import campaign_of
from tests.web import rsvp_post

CONTACTS = ("jose@example.org", "+13125550101", "60607", "angela@example.org", "+13125550199", "94110")


@pytest.fixture
def owner(make_user):
    return make_user(email="owner@example.org")


@pytest.fixture
def campaign(owner):
    return campaign_of(owner)


@pytest.fixture
def rally(campaign, make_rally):
    rally = make_rally(campaign, capacity=100, max_guests=3)
    return rally


@pytest.fixture
def seeded(app, rally):
    public = app.test_client()
    for name, email, phone, zip_code in (("José Álvarez", "jose@example.org", "+13125550101", "60607"),
                                         ("Ángela Núñez", "angela@example.org", "+13125550199", "94110")):
        assert rsvp_post(public, rally, name=name, email=email, phone=phone, postal_code=zip_code).status_code == 303
    return rally


@pytest.fixture
def viewer(app, make_user, campaign, login):
    client = app.test_client()
    login(client, make_user(email="viewer@example.org", campaign=campaign, role="viewer"))
    return client


@pytest.fixture
def organizer(app, make_user, campaign, login):
    client = app.test_client()
    login(client, make_user(email="organizer@example.org", campaign=campaign, role="organizer"))
    return client


def _no_contacts(text: str) -> None:
    for value in CONTACTS:
        assert value not in text, f"{value} reached a viewer"


def test_viewer_rsvp_list_shows_names_and_statuses_but_no_contacts(viewer, seeded):
    resp = viewer.get(f"/organize/rallies/{seeded.id}/rsvps")
    assert resp.status_code == 200
    assert "José Álvarez" in resp.text and "Ángela Núñez" in resp.text and "going" in resp.text
    _no_contacts(resp.text)
    assert ">Email<" not in resp.text and ">Phone<" not in resp.text and ">ZIP<" not in resp.text
    assert "Search names" in resp.text
    assert "Add someone" not in resp.text and "/cancel" not in resp.text, "no buttons that would answer 403"


def test_organizer_rsvp_list_still_shows_contacts(organizer, seeded):
    resp = organizer.get(f"/organize/rallies/{seeded.id}/rsvps")
    assert resp.status_code == 200
    for value in ("jose@example.org", "+13125550101", "60607"):
        assert value in resp.text


@pytest.mark.parametrize("q", ["jose@", "jose@example.org", "angela", "3125550", "+1312555", "6060"])
def test_viewer_cannot_search_by_email_or_phone(viewer, seeded, q):
    """Otherwise the search box is an oracle: one character at a time recovers an address."""
    url = f"/organize/rallies/{seeded.id}/rsvps"
    as_viewer = viewer.get(url, query_string={"q": q})
    assert as_viewer.status_code == 200
    if q == "angela":  # her name folds to "angela": a name match, which viewers may make
        assert "Ángela Núñez" in as_viewer.text
        return
    assert "José Álvarez" not in as_viewer.text and "Ángela Núñez" not in as_viewer.text
    assert "0 RSVPs match" in as_viewer.text


def test_viewer_name_search_folds_accents_and_pages_count_matches(viewer, seeded):
    url = f"/organize/rallies/{seeded.id}/rsvps"
    resp = viewer.get(url, query_string={"q": "nunez"})
    assert "Ángela Núñez" in resp.text and "José Álvarez" not in resp.text
    assert "1 RSVP match" in resp.text
    resp = viewer.get(url, query_string={"q": "JOS"})
    assert "José Álvarez" in resp.text and "Ángela Núñez" not in resp.text


def test_organizer_still_searches_by_email_and_phone(organizer, seeded):
    url = f"/organize/rallies/{seeded.id}/rsvps"
    assert "José Álvarez" in organizer.get(url, query_string={"q": "jose@"}).text
    assert "Ángela Núñez" in organizer.get(url, query_string={"q": "+1312555019"}).text


def test_viewer_csv_has_names_and_statuses_but_no_contact_columns(viewer, organizer, seeded):
    resp = viewer.get(f"/organize/rallies/{seeded.id}/rsvps/export.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    _no_contacts(resp.get_data(as_text=True))
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert {r["name"] for r in rows} == {"José Álvarez", "Ángela Núñez"}
    assert {r["status"] for r in rows} == {"going"}
    assert not {"email", "phone", "postal_code"} & set(rows[0])
    full = list(csv.DictReader(io.StringIO(organizer.get(f"/organize/rallies/{seeded.id}/rsvps/export.csv").text)))
    assert {r["email"] for r in full} == {"jose@example.org", "angela@example.org"}


def test_viewer_cannot_reach_supporter_pages_or_person_export(viewer, campaign, seeded):
    person = db.session.scalar(sa.select(Supporter).where(Supporter.email == "jose@example.org"))
    base = f"/organize/campaigns/{campaign.id}/supporters"
    for url in (base, f"{base}?q=jo", f"{base}/{person.id}.json", f"{base}/{person.id}/delete"):
        resp = viewer.get(url)
        assert resp.status_code == 403, url
        _no_contacts(resp.text)
    assert viewer.post(f"{base}/{person.id}/delete").status_code == 403
    db.session.expire_all()
    assert db.session.get(Supporter, person.id).email == "jose@example.org"


def test_viewer_turnout_exports_carry_no_contacts(viewer, campaign, seeded):
    for url in (f"/turnout/rallies/{seeded.id}/checkins.csv", f"/turnout/api/rallies/{seeded.id}/checkins",
                f"/turnout/api/rallies/{seeded.id}", f"/turnout/campaigns/{campaign.id}/rallies.csv"):
        resp = viewer.get(url)
        assert resp.status_code == 200, url
        _no_contacts(resp.get_data(as_text=True))


def test_team_page_says_what_viewers_see(viewer, campaign):
    page = viewer.get(f"/auth/campaigns/{campaign.id}/team").text
    assert "names and statuses" in page and "no emails, phones or ZIP codes" in page
