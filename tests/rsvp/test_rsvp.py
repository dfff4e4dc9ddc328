"""The RSVP form through the client: happy path, duplicates, attribution, bad input, abuse control."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from rallies.database import atomic
from rallies.extensions import db
from rallies.keys.link_secrets import page_token
from rallies.mail import delivery
from rallies.models import Rsvp, Supporter
from rallies.rallies.counters import next_change_number
from tests import factories
from tests.factories import campaign_of
from tests.stored import counts_from_rows, outbox, rsvp_by_email, statements_sent, stored_counts
from tests.web import rsvp_post, token_from


@pytest.fixture
def rally(make_user, make_rally):
    return make_rally(campaign_of(make_user()), capacity=100, max_guests=3, country="US")


def _count_rsvps():
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Rsvp))


def test_form_page_renders_with_attribution_from_query(client, rally):
    resp = client.get(f"/r/{rally.slug}/rsvp?utm_source=fb&utm_medium=social&utm_campaign=fall&ref=maria")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    for value in ("fb", "social", "fall", "maria"):
        assert f'value="{value}"' in html
    assert 'name="website"' in html  # honeypot present
    assert 'type="checkbox"' in html and "checked" not in html.split('name="opt_in"')[1].split(">")[0]


def test_rsvp_creates_going_rsvp_ticket_and_email(client, rally):
    with atomic():
        before = next_change_number(rally.id)
    resp = rsvp_post(client, rally, name="  José   Álvarez ", email="  Jose@Example.ORG ", phone="(312) 555-0123",
                     postal_code="60607", guests=2, opt_in="y", utm_source="fb", ref="maria")
    assert resp.status_code == 303
    token = token_from(resp)
    rsvp = rsvp_by_email(rally, "jose@example.org")
    assert page_token(rsvp) == token and len(token) == 43
    assert (rsvp.name, rsvp.phone, rsvp.postal_code, rsvp.guests, rsvp.status) == (
        "José Álvarez", "+13125550123", "60607", 2, "going")
    assert rsvp.door_name == "José Á."
    assert rsvp.search_name == "jose alvarez"  # names only: the door searches it (issue 9 item 9)
    assert rsvp.opt_in and rsvp.opt_in_at is not None
    assert (rsvp.utm_source, rsvp.ref) == ("fb", "maria")
    assert rsvp.changed_seq > before  # a change number door devices will sync
    assert stored_counts(rally.id) == counts_from_rows(rally.id)
    assert stored_counts(rally.id)["going_people"] == 3
    delivery = outbox("confirmation")
    assert len(delivery) == 1 and delivery[0].to_addr == "jose@example.org" and delivery[0].rsvp_id == rsvp.id
    supporter = db.session.scalar(sa.select(Supporter).where(Supporter.email == "jose@example.org"))
    assert supporter is not None and rsvp.supporter_id == supporter.id
    page = client.get(f"/t/{token}")
    assert page.status_code == 200 and "Going" in page.get_data(as_text=True)


def test_opt_in_unticked_by_default_records_no_time(client, rally):
    rsvp_post(client, rally)
    rsvp = rsvp_by_email(rally, "ana@example.org")
    assert rsvp.opt_in is False and rsvp.opt_in_at is None


def test_duplicate_email_changes_nothing_and_resends_the_link(client, rally):
    # Issue 9 item 1: a repeat no longer updates the RSVP or hands out its ticket.
    first = rsvp_post(client, rally, email="dup@example.org", guests=0)
    first_seq = rsvp_by_email(rally, "dup@example.org").changed_seq
    again = rsvp_post(client, rally, email="DUP@example.org ", guests=2, phone="+1 312 555 0199")
    assert again.status_code == 303 and token_from(first) not in again.headers["Location"]
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Rsvp).where(Rsvp.rally_id == rally.id)).all()
    assert len(rows) == 1 and rows[0].guests == 0 and rows[0].phone == ""
    assert rows[0].changed_seq == first_seq  # nothing changed, so door devices have nothing to fetch
    assert len(outbox("confirmation", "dup@example.org")) == 2
    body = delivery.render_body(outbox("confirmation")[-1]).replace(b"=\r\n", b"")
    assert b"asked for your ticket" in body and token_from(first).encode() in body
    assert "already on the list" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert stored_counts(rally.id) == counts_from_rows(rally.id)


def test_repeat_rsvps_on_a_full_rally_keep_counters_true(client, make_user, make_rally):
    full = make_rally(campaign_of(make_user()), title="Small room", capacity=2, max_guests=3)
    rsvp_post(client, full, email="a@example.org", guests=1)  # 2 people: full
    rsvp_post(client, full, email="b@example.org", guests=0)  # waitlisted
    for email, guests in (("a@example.org", 1), ("b@example.org", 0), ("b@example.org", 2), ("a@example.org", 0)):
        rsvp_post(client, full, email=email, guests=guests)
        assert stored_counts(full.id) == counts_from_rows(full.id)
    a, b = rsvp_by_email(full, "a@example.org"), rsvp_by_email(full, "b@example.org")
    assert (a.status, a.guests) == ("going", 1)
    assert (b.status, b.guests) == ("waitlisted", 0)
    assert len(outbox("confirmation")) == 4 and not outbox("promotion")  # two tickets, one resend each


@pytest.mark.parametrize("fields, field, message", [
    ({"email": "not-an-email"}, "email", "valid email"),
    ({"email": ""}, "email", "Enter your email"),
    ({"name": ""}, "name", "Enter your name"),
    ({"name": "x" * 121}, "name", "at most 120"),
    ({"email": "a" * 250 + "@example.org"}, "email", "254"),
    ({"phone": "12"}, "phone", "phone number"),
    ({"phone": "+1 555 000 0000 00"}, "phone", "phone number"),
    ({"guests": "-1"}, "guests", "between 0 and 3"),
    ({"guests": "4"}, "guests", "between 0 and 3"),
    ({"guests": "two"}, "guests", ""),
    ({"postal_code": "ABCDE"}, "postal_code", "5-digit ZIP"),
])
def test_bad_input_is_explained_next_to_the_field_and_stores_nothing(client, rally, fields, field, message):
    resp = rsvp_post(client, rally, **fields)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    assert f'aria-describedby="{field}-error"' in html or f'{field}-error"' in html
    assert message in html
    assert _count_rsvps() == 0 and outbox() == []


def test_unicode_names_are_fine(client, rally):
    resp = rsvp_post(client, rally, name="Zoë 王小明 Ñúñez-Ørsted", email="zoe@example.org")
    assert resp.status_code == 303
    rsvp = rsvp_by_email(rally, "zoe@example.org")
    assert rsvp.name == "Zoë 王小明 Ñúñez-Ørsted" and rsvp.door_name == "Zoë Ñ."
    assert rsvp.search_name.startswith("zoe 王小明 nunez-ørsted") or rsvp.search_name.startswith("zoe 王小明 nunez")


def test_honeypot_stores_nothing_but_looks_fine(client, rally):
    resp = rsvp_post(client, rally, website="http://spam.example")
    assert resp.status_code == 303 and "/thanks" in resp.headers["Location"]
    assert _count_rsvps() == 0 and outbox() == []


@pytest.mark.parametrize("change", [
    {"status": "cancelled"},
    {"visibility": "draft"},
])
def test_closed_or_cancelled_rally_refuses(client, make_user, make_rally, change):
    rally = make_rally(campaign_of(make_user()), **change)
    resp = rsvp_post(client, rally)
    assert resp.status_code in (404, 409)
    assert _count_rsvps() == 0


def test_rally_that_is_over_refuses_with_message(client, make_user, make_rally):
    rally = make_rally(campaign_of(make_user()), starts_at=datetime.now(UTC) - timedelta(days=1))
    page = client.get(f"/r/{rally.slug}/rsvp")
    assert "no longer takes RSVPs" in page.get_data(as_text=True)
    resp = rsvp_post(client, rally)
    assert resp.status_code == 409 and "no longer takes RSVPs" in resp.get_data(as_text=True)
    assert _count_rsvps() == 0


def test_unknown_rally_is_404(client):
    assert client.get("/r/nope/rsvp").status_code == 404


def test_csrf_is_enforced_on_the_rsvp_form(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        factories.make_rally(factories.make_campaign(), slug="csrf-rally")
    client = app.test_client()
    resp = client.post("/r/csrf-rally/rsvp", data={"name": "A", "email": "a@example.org", "guests": "0"},
                       headers={"Referer": "https://localhost/r/csrf-rally/rsvp"})
    assert resp.status_code == 400 and "form expired" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Rsvp)) == 0


def test_rate_limit_per_email_gives_429_page_with_retry(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_RSVP_EMAIL="2 per minute", RATELIMIT_RSVP_IP="100 per minute",
                      RATELIMIT_STORAGE_URI="memory://")
    with app.app_context():
        slug = factories.make_rally(factories.make_campaign()).slug
    client = app.test_client()
    for i in range(2):
        r = client.post(f"/r/{slug}/rsvp", data={"name": "A", "email": "same@example.org", "guests": "0"})
        assert r.status_code == 303, i
    limited = client.post(f"/r/{slug}/rsvp", data={"name": "A", "email": " SAME@example.org", "guests": "0"})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert "try again in" in limited.get_data(as_text=True)
    other = client.post(f"/r/{slug}/rsvp", data={"name": "B", "email": "other@example.org", "guests": "0"})
    assert other.status_code == 303  # a different email is not limited
    assert client.get(f"/r/{slug}/rsvp").status_code == 200  # GET is never limited


def test_rate_limit_per_ip(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_RSVP_IP="3 per minute", RATELIMIT_STORAGE_URI="memory://")
    with app.app_context():
        slug = factories.make_rally(factories.make_campaign()).slug
    client = app.test_client()
    codes = [client.post(f"/r/{slug}/rsvp", data={"name": "A", "email": f"p{i}@example.org", "guests": "0"}).status_code
             for i in range(4)]
    assert codes == [303, 303, 303, 429]


def test_rally_page_form_carries_the_links_attribution(client, rally):
    html = client.get(f"/r/{rally.slug}?ref=abc&utm_source=x&utm_medium=%07bad").get_data(as_text=True)
    assert f'action="/r/{rally.slug}/rsvp"' in html
    assert 'name="ref" type="hidden" value="abc"' in html and 'name="utm_source" type="hidden" value="x"' in html
    assert 'name="utm_medium" type="hidden" value="bad"' in html


@pytest.mark.parametrize("field", ["name", "email", "phone", "postal_code", "guests"])
def test_control_characters_are_refused_not_500(client, rally, field):
    resp = rsvp_post(client, rally, **{field: "ab\x07c" if field != "email" else "a\x07b@example.org"})
    assert resp.status_code == 422 and f'id="{field}-error"' in resp.get_data(as_text=True)
    nul = rsvp_post(client, rally, **{field: "ab\x00c" if field != "email" else "a\x00b@example.org"})
    assert nul.status_code in (400, 422)  # NUL may be refused before the form sees it
    assert _count_rsvps() == 0


def test_control_characters_in_attribution_are_dropped(client, rally):
    resp = rsvp_post(client, rally, utm_source="fb\x07", ref="ma\x1bria", email="ctl@example.org")
    assert resp.status_code == 303
    rsvp = rsvp_by_email(rally, "ctl@example.org")
    assert (rsvp.utm_source, rsvp.ref) == ("fb", "maria")
    assert client.get(f"/r/{rally.slug}/rsvp?ref=%07x").status_code == 200
    assert client.get(f"/r/{rally.slug}/rsvp?ref=%00x").status_code in (200, 400)
    assert client.get("/t/" + "A" * 42 + "%00").status_code in (400, 404)
    assert client.get("/t/" + "A" * 42 + "%07").status_code == 404


def test_rally_page_carries_the_form_and_it_posts(client, rally):
    html = client.get(f"/r/{rally.slug}?ref=home").get_data(as_text=True)
    assert f'action="/r/{rally.slug}/rsvp"' in html and 'value="home"' in html
    assert 'class="hp-field" style="position:absolute;left:-10000px' in html
    resp = rsvp_post(client, rally, email="page@example.org", ref="home")
    assert resp.status_code == 303 and rsvp_by_email(rally, "page@example.org").ref == "home"



def test_a_new_rsvp_is_inserted_without_looking_first(rally):
    """Issue 10: a new mailbox costs the capacity UPDATE (the rally's lock), a change number (from the
    rally's row), the supporter upsert, the RSVP INSERT (pointing at that supporter) and its email, and nothing else."""
    from rallies.rsvp.rsvps import RsvpInput, create_or_update_rsvp

    made = []
    assert rally.signing_key  # loaded (the view has the rally in hand already)
    statements = statements_sent(lambda: made.append(
        create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana.new@example.org", guests=1))))
    assert statements == [
        "update rally set", "update rally set", "insert into supporter", "insert into rsvp", "insert into outbox_message"]
    rsvp = db.session.get(Rsvp, made[0].rsvp_id)
    assert rsvp.status == "going" and rsvp.supporter.email == "ana.new@example.org"


def test_a_repeat_found_by_the_insert_rolls_back_everything_it_did(rally):
    """The optimistic insert took places and upserted the supporter before the unique index said "repeat":
    all of it is rolled back, and the repeat is answered as before (nothing changes, the link is resent)."""
    from rallies.rsvp.rsvps import RsvpInput, create_or_update_rsvp

    first = create_or_update_rsvp(rally, RsvpInput(name="Ana López", email="ana.r@example.org", guests=0,
                                                    phone="+13125550123"))
    before = stored_counts(rally.id)
    again = create_or_update_rsvp(rally, RsvpInput(name="Someone Else", email="Ana.R@example.org", guests=3))
    assert again.outcome == "repeat" and again.rsvp_id == first.rsvp_id
    assert stored_counts(rally.id) == before == counts_from_rows(rally.id)
    db.session.expire_all()
    supporter = db.session.scalar(sa.select(Supporter).where(Supporter.email == "ana.r@example.org"))
    assert (supporter.name, supporter.phone) == ("Ana López", "+13125550123")
    assert len(outbox("confirmation", "ana.r@example.org")) == 2  # the ticket, then the resend
