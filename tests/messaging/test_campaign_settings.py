"""Owners set the campaign's contact address (Reply-To) and supporters' default language."""

from __future__ import annotations

from rallies.models import Campaign
from tests.factories import campaign_of, make_user
from tests.stored import fresh


def test_owner_sets_contact_email_and_default_language(organizer_client, owner):
    campaign = campaign_of(owner)
    page = organizer_client.get(f"/auth/campaigns/{campaign.id}/team").get_data(as_text=True)
    assert 'name="contact_email"' in page
    resp = organizer_client.post(f"/auth/campaigns/{campaign.id}/settings",
                                 data={"contact_email": "Team@Campaign.example", "default_locale": "es"})
    assert resp.status_code == 302
    stored = fresh(Campaign, campaign.id)
    assert (stored.contact_email, stored.default_locale) == ("team@campaign.example", "es")


def test_bad_values_are_refused(organizer_client, owner):
    campaign = campaign_of(owner)
    resp = organizer_client.post(f"/auth/campaigns/{campaign.id}/settings",
                                 data={"contact_email": "not an address", "default_locale": "xx"})
    assert resp.status_code == 400
    assert "Enter a valid email address." in resp.get_data(as_text=True)
    assert fresh(Campaign, campaign.id).contact_email == ""


def test_organizers_cannot_change_them(client, login, owner):
    campaign = campaign_of(owner)
    login(client, make_user(email="org2@example.org", campaign=campaign, role="organizer"))
    resp = client.post(f"/auth/campaigns/{campaign.id}/settings", data={"contact_email": "x@example.org",
                                                                        "default_locale": "en"})
    assert resp.status_code == 403
