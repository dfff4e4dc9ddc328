"""Rally management through the client: create, edit, cancel, re-publish, form errors, isolation, public pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rallies.database import atomic
from rallies.extensions import db
from rallies.models import Rally
from tests.factories import campaign_of
from tests.web import rsvp_post

HOSTILE = '<script>alert("x")</script>${alert(1)}`'


def rally_form(**overrides) -> dict:
    """A valid rally form for Austin (ZIP 78701), times in the venue's zone."""
    data = dict(
        title="Rally for Jobs", description="Bring a friend.", starts_local="2030-05-01T18:00",
        ends_local="2030-05-01T20:00", doors_local="2030-05-01T17:00", timezone="", venue_name="Republic Square",
        address="422 Guadalupe St", city="Austin", state="TX", postal_code="78701", country="US", capacity="",
        max_guests="2", accessibility_notes="Step-free entrance on 4th St.", visibility="listed",
    )
    data.update(overrides)
    return data


@pytest.fixture
def organizer(client, make_user, login):
    user = make_user()
    login(client, user)
    return user


def create(client, user, **overrides):
    campaign = campaign_of(user)
    return client.post(f"/organize/campaigns/{campaign.id}/rallies/new", data=rally_form(**overrides))


def only_rally() -> Rally:
    return db.session.scalars(db.select(Rally)).one()


def test_create_rally_converts_local_time_defaults_zone_and_signs(client, organizer):
    resp = create(client, organizer)
    assert resp.status_code == 302
    rally = only_rally()
    assert resp.location.endswith(f"/organize/rallies/{rally.id}")
    assert rally.timezone == "America/Chicago"  # from the ZIP, since the field was empty
    assert rally.starts_at == datetime(2030, 5, 1, 23, 0, tzinfo=UTC)  # 18:00 CDT
    assert rally.doors_open_at == datetime(2030, 5, 1, 22, 0, tzinfo=UTC)
    assert rally.slug == "rally-for-jobs-austin"
    assert rally.geo_precision == "zip" and rally.lat == pytest.approx(30.2713)
    assert rally.public_key and rally.signing_key
    assert rally.capacity is None and rally.max_guests == 2
    page = client.get(resp.location).text
    assert "Wednesday, May 1, 2030, 6:00 PM CDT" in page
    assert "ZIP code centre" in page


def test_explicit_zone_wins_and_state_is_normalised(client, organizer):
    create(client, organizer, timezone="America/New_York", state="texas")
    rally = only_rally()
    assert rally.timezone == "America/New_York"
    assert rally.starts_at == datetime(2030, 5, 1, 22, 0, tzinfo=UTC)
    assert rally.state == "TX"


def test_same_title_gets_next_slug(client, organizer):
    create(client, organizer)
    create(client, organizer)
    assert sorted(db.session.scalars(db.select(Rally.slug))) == ["rally-for-jobs-austin", "rally-for-jobs-austin-2"]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"title": ""}, "Give the rally a title."),
    ({"title": "x" * 161}, "Use at most 160 characters."),
    ({"venue_name": ""}, "Name the venue."),
    ({"city": ""}, "Enter the city."),
    ({"description": "x" * 5001}, "Use at most 5000 characters."),
    ({"starts_local": ""}, "Enter the start date and time."),
    ({"starts_local": "tomorrow"}, "Not a valid datetime value."),
    ({"ends_local": "2030-05-01T17:00"}, "The end must be after the start."),
    ({"ends_local": "2030-05-01T18:00"}, "The end must be after the start."),
    ({"doors_local": "2030-05-01T18:30"}, "Doors must open at or before the start."),
    ({"timezone": "Mars/Olympus_Mons"}, "is not a time zone we know"),
    ({"capacity": "0"}, "Capacity must be at least 1"),
    ({"capacity": "-5"}, "Capacity must be at least 1"),
    ({"capacity": "many"}, "Not a valid integer value."),
    ({"max_guests": "21"}, "Allow between 0 and 20 guests per RSVP."),
    ({"country": "USA"}, "Use the two-letter country code"),
    ({"visibility": "secret"}, "Not a valid choice"),
    ({"state": "Narnia"}, "is not a US state"),
    ({"postal_code": "7870"}, "A US ZIP code has five digits"),
    ({"address": "x" * 201}, "Use at most 200 characters."),
    # 02:30 on 2030-03-10 does not exist in Chicago (clocks jump from 02:00 to 03:00).
    ({"starts_local": "2030-03-10T02:30", "ends_local": "2030-03-10T05:00", "doors_local": ""}, "does not exist"),
])
def test_form_errors_are_clear_and_save_nothing(client, organizer, overrides, message):
    resp = create(client, organizer, **overrides)
    assert resp.status_code == 422
    assert message in resp.text
    assert 'aria-invalid="true"' in resp.text
    assert db.session.scalar(db.select(db.func.count(Rally.id))) == 0


def test_no_zone_and_no_location_asks_for_zone(client, organizer):
    resp = create(client, organizer, postal_code="", city="Nowhereville", address="1 Nowhere Rd")
    assert resp.status_code == 422
    assert "cannot tell its time zone" in resp.text


def test_address_not_found_still_saves_and_is_flagged(client, organizer):
    resp = create(client, organizer, postal_code="", city="Nowhereville", address="1 Nowhere Rd",
                  timezone="America/Chicago")
    assert resp.status_code == 302
    rally = only_rally()
    assert rally.geo_precision == "none" and rally.lat is None
    follow = client.get(resp.location)
    assert "flagged: address not found" in follow.text
    assert "flagged: address not found" in client.get("/organize/").text


def test_html_in_title_is_escaped_everywhere(client, organizer):
    create(client, organizer, title=HOSTILE, description=HOSTILE)
    rally = only_rally()
    pages = {
        "manage": client.get(f"/organize/rallies/{rally.id}").text,
        "dashboard": client.get("/organize/").text,
        "edit": client.get(f"/organize/rallies/{rally.id}/edit").text,
        "public": client.get(f"/r/{rally.slug}").text,
        "list": client.get("/").text,
        "near": client.get("/near?q=78701").text,
    }
    for name, html in pages.items():
        assert "<script>alert" not in html, name
        assert "&lt;script&gt;" in html, name
    # Inside the map scripts the title is also safe from the JS template literal folium uses.
    for name in ("manage", "public"):
        script = pages[name].split('<script nonce="', 1)[1]
        assert "${alert" not in script and "&#36;&#123;alert(1)&#125;&#96;" in script, name


def test_viewer_reads_but_cannot_change(client, make_user, login, make_rally):
    owner = make_user()
    rally = make_rally(campaign_of(owner))
    viewer = make_user(campaign=campaign_of(owner), role="viewer")
    login(client, viewer)
    page = client.get(f"/organize/rallies/{rally.id}")
    assert page.status_code == 200 and "Correct the pin" not in page.text
    assert client.get(f"/organize/campaigns/{rally.campaign_id}/rallies/new").status_code == 403
    assert client.get(f"/organize/rallies/{rally.id}/edit").status_code == 403
    assert client.post(f"/organize/rallies/{rally.id}/cancel", data={"message": "x"}).status_code == 403
    assert client.post(f"/organize/rallies/{rally.id}/pin", data={"lat": "1", "lon": "1"}).status_code == 403


def test_login_required(client, make_user, make_rally):
    rally = make_rally(campaign_of(make_user()))
    for url in ("/organize/", f"/organize/rallies/{rally.id}", f"/organize/rallies/{rally.id}/edit"):
        resp = client.get(url)
        assert resp.status_code == 302 and "login" in resp.location


# --- Isolation: another campaign's id gives 404 on every route that takes one -------------------

ISOLATED_ROUTES = [
    ("GET", "/organize/campaigns/{campaign}/rallies/new"),
    ("POST", "/organize/campaigns/{campaign}/rallies/new"),
    ("GET", "/organize/rallies/{rally}"),
    ("GET", "/organize/rallies/{rally}/edit"),
    ("POST", "/organize/rallies/{rally}/edit"),
    ("GET", "/organize/rallies/{rally}/cancel"),
    ("POST", "/organize/rallies/{rally}/cancel"),
    ("POST", "/organize/rallies/{rally}/republish"),
    ("POST", "/organize/rallies/{rally}/pin"),
    ("POST", "/organize/rallies/{rally}/geocode"),
]


@pytest.mark.parametrize(("method", "route"), ISOLATED_ROUTES)
def test_other_campaigns_ids_give_404(client, make_user, login, make_rally, method, route):
    other = make_user()
    rally = make_rally(campaign_of(other), status="cancelled")
    login(client, make_user())
    url = route.format(campaign=campaign_of(other).id, rally=rally.id)
    data = {**rally_form(), "message": "gone", "lat": "30", "lon": "-97"}
    resp = client.get(url) if method == "GET" else client.post(url, data=data)
    assert resp.status_code == 404
    db.session.expire_all()
    assert db.session.get(Rally, rally.id).status == "cancelled"  # nothing changed
    assert db.session.scalar(db.select(db.func.count(Rally.id))) == 1


# --- Edit, cancel, re-publish ------------------------------------------------------------------


def test_edit_prefills_and_saves(client, organizer, monkeypatch):
    create(client, organizer)
    rally = only_rally()
    form = client.get(f"/organize/rallies/{rally.id}/edit").text
    assert 'value="2030-05-01T18:00"' in form and 'value="America/Chicago"' in form
    calls = []
    from rallies.rsvp import notices

    monkeypatch.setattr(notices, "rally_changed", lambda r, changes: calls.append(changes))
    resp = client.post(f"/organize/rallies/{rally.id}/edit", data=rally_form(
        title="Rally for Good Jobs", starts_local="2030-05-01T19:00", ends_local="2030-05-01T21:00",
        timezone="America/Chicago"))
    assert resp.status_code == 302
    db.session.expire_all()
    rally = only_rally()
    assert rally.title == "Rally for Good Jobs"
    assert rally.slug == "rally-for-jobs-austin"  # shared links keep working
    assert rally.starts_at == datetime(2030, 5, 2, 0, 0, tzinfo=UTC)
    assert set(calls[0]) == {"starts_at", "ends_at"}


def test_edit_address_geocodes_again_and_drops_manual_pin(client, organizer):
    create(client, organizer)
    rally = only_rally()
    client.post(f"/organize/rallies/{rally.id}/pin", data={"lat": "30.25", "lon": "-97.75"})
    client.post(f"/organize/rallies/{rally.id}/edit", data=rally_form(
        city="Denver", state="CO", postal_code="80202", address="", timezone="America/Denver"))
    db.session.expire_all()
    rally = only_rally()
    assert rally.geo_precision == "zip" and rally.lat == pytest.approx(39.75, abs=0.05)


def test_edit_errors_keep_the_rally(client, organizer):
    create(client, organizer)
    rally = only_rally()
    resp = client.post(f"/organize/rallies/{rally.id}/edit", data=rally_form(title="", ends_local="2030-04-01T10:00"))
    assert resp.status_code == 422 and "Give the rally a title." in resp.text
    db.session.expire_all()
    assert only_rally().title == "Rally for Jobs"


def test_cancel_and_republish(client, organizer, monkeypatch):
    create(client, organizer)
    rally = only_rally()
    told = []
    from rallies.rsvp import notices

    monkeypatch.setattr(notices, "rally_cancelled", lambda r: told.append(r.id))
    empty = client.post(f"/organize/rallies/{rally.id}/cancel", data={"message": ""})
    assert empty.status_code == 422 and "Tell supporters why" in empty.text
    resp = client.post(f"/organize/rallies/{rally.id}/cancel", data={"message": "Storm warning <b>sorry</b>"})
    assert resp.status_code == 302 and told == [rally.id]
    public = client.get(f"/r/{rally.slug}").text
    assert "This rally is cancelled." in public and "Storm warning &lt;b&gt;sorry&lt;/b&gt;" in public
    assert rally.title not in client.get("/").text  # cancelled rallies leave the list
    again = client.post(f"/organize/rallies/{rally.id}/cancel", data={"message": "again"})
    assert again.status_code == 302
    assert "already cancelled" in client.get(again.location).text
    assert client.post(f"/organize/rallies/{rally.id}/republish").status_code == 302
    db.session.expire_all()
    rally = only_rally()
    assert rally.status == "scheduled" and rally.cancel_message == ""
    assert client.post(f"/organize/rallies/{rally.id}/republish").status_code == 409


def test_dashboard_reads_counters_from_rally_columns(client, organizer, make_rally):
    rally = make_rally(campaign_of(organizer), title="Counted")
    with atomic():
        db.session.execute(db.update(Rally).where(Rally.id == rally.id).values(
            going_people=137, guests_count=41, waitlisted_people=12, cancelled_parties=9))
    html = client.get("/organize/").text
    for number in ("137", "41", "12", "9"):
        assert f"<td>{number}</td>" in html
    manage = client.get(f"/organize/rallies/{rally.id}").text
    assert '<span class="num">137</span>' in manage and '<span class="num">12</span>' in manage


def test_csrf_is_enforced(app_factory, make_user):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        user = make_user()
        campaign_id = campaign_of(user).id
        with client.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
        resp = client.post(f"/organize/campaigns/{campaign_id}/rallies/new", data=rally_form())
        assert resp.status_code == 400
        assert db.session.scalar(db.select(db.func.count(Rally.id))) == 0


# --- Public pages ------------------------------------------------------------------------------


def test_public_rally_page_visibility(client, make_user, login, make_rally):
    owner = make_user()
    campaign = campaign_of(owner)
    listed = make_rally(campaign, title="Listed one")
    unlisted = make_rally(campaign, title="Unlisted one", visibility="unlisted")
    draft = make_rally(campaign, title="Draft one", visibility="draft")
    assert client.get(f"/r/{listed.slug}").status_code == 200
    page = client.get(f"/r/{unlisted.slug}")
    assert page.status_code == 200 and 'content="noindex"' in page.text
    assert client.get(f"/r/{draft.slug}").status_code == 404
    assert client.get("/r/no-such-rally").status_code == 404
    listing = client.get("/").text
    assert "Listed one" in listing and "Unlisted one" not in listing and "Draft one" not in listing
    login(client, make_user())  # another campaign's organizer cannot preview the draft
    assert client.get(f"/r/{draft.slug}").status_code == 404
    login(client, owner)
    preview = client.get(f"/r/{draft.slug}")
    assert preview.status_code == 200 and "Draft preview" in preview.text


def test_public_page_shows_local_time_map_and_opengraph(client, make_user, make_rally):
    start = datetime(2031, 7, 4, 16, 0, tzinfo=UTC)  # noon in New York (EDT)
    rally = make_rally(campaign_of(make_user()), title="Fourth Rally", starts_at=start, timezone="America/New_York",
                       description="Line one\nline two\n\nSee https://example.org/info. Or javascript:alert(1)")
    html = client.get(f"/r/{rally.slug}").text
    assert "Friday, July 4, 2031, 12:00 PM EDT" in html
    assert '<meta property="og:title" content="Fourth Rally">' in html
    assert f'<meta property="og:url" content="http://localhost/r/{rally.slug}">' in html
    assert 'class="folium-map"' in html
    assert "<p>Line one<br>\nline two</p>" in html
    assert '<a href="https://example.org/info" rel="nofollow noopener noreferrer">https://example.org/info</a>.' in html
    assert 'href="javascript' not in html


def test_about_credits_geonames(client):
    html = client.get("/about").text
    assert "GeoNames" in html and "CC BY 4.0" in html


def test_past_rally_page_says_it_ended_and_takes_no_rsvps(client, make_user, make_rally):
    past = make_rally(campaign_of(make_user()), starts_at=datetime.now(UTC) - timedelta(days=3))
    html = client.get(f"/r/{past.slug}").text
    assert "This rally has ended." in html and 'id="rsvp-heading"' not in html
    upcoming = make_rally(campaign_of(make_user()))
    assert 'id="rsvp-heading"' in client.get(f"/r/{upcoming.slug}").text


def test_raising_capacity_in_the_edit_form_promotes_the_waitlist(client, organizer):
    create(client, organizer, capacity="1")
    rally = only_rally()
    assert rsvp_post(client, rally, email="first@example.org", name="First").status_code == 303
    assert rsvp_post(client, rally, email="second@example.org", name="Second").status_code == 303
    statuses = lambda: dict(db.session.execute(  # noqa: E731
        db.text("SELECT email, status FROM rsvp WHERE rally_id = :r"), {"r": rally.id}).all())
    assert statuses() == {"first@example.org": "going", "second@example.org": "waitlisted"}
    resp = client.post(f"/organize/rallies/{rally.id}/edit", data=rally_form(capacity="2", timezone="America/Chicago"))
    assert resp.status_code == 302
    db.session.expire_all()
    assert statuses() == {"first@example.org": "going", "second@example.org": "going"}
    assert only_rally().going_people == 2 and only_rally().waitlisted_people == 0


def test_manage_page_links_to_rsvps_doors_and_turnout(client, organizer):
    create(client, organizer)
    rally = only_rally()
    page = client.get(f"/organize/rallies/{rally.id}").text
    for path in ("/rsvps", "/share", f"/door/rally/{rally.id}/", "/log", "/conflicts", f"/turnout/rallies/{rally.id}/"):
        assert path in page, path


def test_a_huge_capacity_is_a_form_error_not_a_500(client, organizer):
    resp = create(client, organizer, capacity="99999999999999999999999")
    assert resp.status_code == 422 and "Enter a smaller number." in resp.text
