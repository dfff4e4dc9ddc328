"""Issue 9 items 1, 2 and 4: the RSVP form hands out no one else's ticket, one mailbox holds one place
per rally, places can wait for an emailed confirmation, and the calendar file carries no secret."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from rallies.database import atomic
from rallies.extensions import db
from rallies.keys.link_secrets import page_token
from rallies.mail import delivery
from rallies.models import Rsvp, Supporter, utcnow
from tests.factories import campaign_of
from tests.stored import counts_from_rows, outbox, stored_counts
from tests.web import rsvp_post, token_from

ALREADY = "You're already on the list. We've emailed your ticket link again."


@pytest.fixture
def owner(make_user):
    return make_user()


@pytest.fixture
def rally(owner, make_rally):
    return make_rally(campaign_of(owner), capacity=100, max_guests=3, country="US")


def _rsvps(rally):
    db.session.expire_all()
    return db.session.scalars(sa.select(Rsvp).where(Rsvp.rally_id == rally.id).order_by(Rsvp.id)).all()


def _resends(to=None):
    return [m for m in outbox("confirmation", to) if (m.render_params or {}).get("reason") == "resend"]


def _body(message) -> str:
    return delivery.render_body(message).replace(b"=\r\n", b"").decode("utf-8", "replace")


# ------------------------------------------------------------------------ item 1: repeats reveal nothing


def test_repeat_rsvp_changes_nothing_reveals_nothing_and_resends_to_the_owner(client, rally):
    first = rsvp_post(client, rally, name="Ana López", email="ana@example.org", guests=1, phone="(312) 555-0123",
                      postal_code="60607")
    token = token_from(first)
    before = _rsvps(rally)[0]
    seq, supporter = before.changed_seq, db.session.get(Supporter, before.supporter_id)
    s_before = (supporter.name, supporter.phone, supporter.postal_code)

    again = rsvp_post(client, rally, name="Mallory Stranger", email=" ANA@example.org", guests=3,
                      phone="(312) 555-0199", postal_code="60601")
    assert again.status_code == 303
    assert "/t/" not in again.headers["Location"] and token not in again.headers["Location"]
    page = client.get(again.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and ALREADY in html.replace("&#39;", "'")
    assert token not in html and "Ana" not in html  # nothing of the owner's is shown

    (row,) = _rsvps(rally)
    assert (row.name, row.guests, row.phone, row.postal_code, row.status, row.changed_seq) == (
        "Ana López", 1, "+13125550123", "60607", "going", seq)
    supporter = db.session.get(Supporter, row.supporter_id)
    assert (supporter.name, supporter.phone, supporter.postal_code) == s_before
    assert stored_counts(rally.id) == counts_from_rows(rally.id) and stored_counts(rally.id)["going_people"] == 2
    # The owner (at the address they typed) gets their link again; nobody gets an "updated" email.
    (resend,) = _resends()
    assert resend.to_addr == "ana@example.org" and resend.rsvp_id == row.id
    body = _body(resend)
    assert f"/t/{token}" in body and "Mallory" not in body and "updated" not in resend.subject.lower()


def test_resends_are_limited_per_mailbox_in_the_database(client, rally):
    rsvp_post(client, rally, email="mallory@gmail.com")
    for email in ("mallory@gmail.com", "Mal.lory+x@gmail.com", "mallory@googlemail.com"):
        resp = rsvp_post(client, rally, email=email, name="Someone")
        assert resp.status_code == 303 and "/t/" not in resp.headers["Location"]
    assert len(_resends()) == 1  # one per window, whichever spelling of the mailbox asks
    with atomic():  # the window passes
        db.session.execute(sa.update(Rsvp).values(ticket_resent_at=utcnow() - timedelta(hours=1)))
    rsvp_post(client, rally, email="m.a.l.l.o.r.y@gmail.com")
    assert len(_resends()) == 2 and {m.to_addr for m in _resends()} == {"mallory@gmail.com"}


def test_cancelled_rsvp_owner_gets_the_link_and_rejoins_from_the_ticket_page(client, owner, make_rally):
    small = make_rally(campaign_of(owner), capacity=2, max_guests=3)
    token = token_from(rsvp_post(client, small, email="back@example.org", guests=1))
    client.post(f"/t/{token}/cancel")
    resp = rsvp_post(client, small, email="back@example.org", guests=0)
    assert "/t/" not in resp.headers["Location"]
    assert _rsvps(small)[0].status == "cancelled" and len(_resends("back@example.org")) == 1
    page = client.get(f"/t/{token}").get_data(as_text=True)
    assert f"/t/{token}/confirm" in page and "RSVP again" in page
    token_from(rsvp_post(client, small, email="other@example.org", guests=1))  # the places are taken again
    assert client.get(f"/t/{token}/confirm").status_code == 200
    back = client.post(f"/t/{token}/confirm")
    assert back.status_code == 303 and back.headers["Location"].endswith(f"/t/{token}")
    row = [r for r in _rsvps(small) if r.email == "back@example.org"][0]
    assert (row.status, row.guests) == ("waitlisted", 1)  # the normal capacity decision
    assert stored_counts(small.id) == counts_from_rows(small.id)
    assert client.post(f"/t/{token}/confirm").status_code == 303  # twice changes nothing more
    assert stored_counts(small.id) == counts_from_rows(small.id)


def test_organizer_add_still_updates_an_existing_rsvp(client, rally, owner, login):
    rsvp_post(client, rally, email="known@example.org", name="Known Person")
    login(client, owner)
    resp = client.post(f"/organize/rallies/{rally.id}/rsvps/new",
                       data={"name": "Known P. Person", "email": "Known+org@example.org", "guests": "2"})
    assert resp.status_code == 303
    (row,) = _rsvps(rally)
    assert (row.name, row.guests, row.email) == ("Known P. Person", 2, "known@example.org")


# ------------------------------------------------------------------------ item 2: one mailbox, one place


@pytest.mark.parametrize("typed, canonical", [
    ("Mallory@Example.org", "mallory@example.org"),
    ("mallory+1@example.org", "mallory@example.org"),
    ("m.allory@example.org", "m.allory@example.org"),  # dots matter outside Gmail
    ("m.allory+x@gmail.com", "mallory@gmail.com"),
    ("M.A.L.L.O.R.Y@googlemail.com", "mallory@gmail.com"),
    ("+only@example.org", "+only@example.org"),  # nothing left before the tag: keep it
    ("odd@two@example.org", "odd@two@example.org"),
])
def test_canonical_mailbox(typed, canonical):
    from rallies.mail.addresses import canonical_email

    assert canonical_email(typed) == canonical


def test_lookalike_key_drops_digits_dots_and_tags():
    from rallies.mail.addresses import lookalike_key

    assert lookalike_key("mallory1@example.org") == lookalike_key("mal.lory22+x@example.org") == "mallory@example.org"
    assert lookalike_key("mallory1@example.org") != lookalike_key("mallory1@example.net")


def test_one_mailbox_holds_one_place_per_rally(client, rally):
    for email in ("mallory+1@gmail.com", "m.allory@gmail.com", "MALLORY@googlemail.com", "mallory+2@gmail.com"):
        assert rsvp_post(client, rally, email=email, guests=3).status_code == 303
    (row,) = _rsvps(rally)
    assert row.email == "mallory+1@gmail.com" and row.email_key == "mallory@gmail.com"  # kept as typed for sending
    assert stored_counts(rally.id)["going_people"] == 4
    assert [m.to_addr for m in outbox("confirmation")] == ["mallory+1@gmail.com"] * 2  # ticket, one resend


def test_plus_tags_count_for_every_domain(client, rally):
    rsvp_post(client, rally, email="sam@example.org")
    rsvp_post(client, rally, email="sam+again@example.org")
    rsvp_post(client, rally, email="s.am@example.org")  # dots only fold at Gmail
    assert [r.email for r in _rsvps(rally)] == ["sam@example.org", "s.am@example.org"]


def test_per_rally_per_ip_cap(app_factory, make_user, make_rally):
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_RSVP_RALLY_IP="3 per hour", RATELIMIT_RSVP_IP="100 per minute",
                      RATELIMIT_STORAGE_URI="memory://")
    with app.app_context():
        campaign = campaign_of(make_user())
        one, two = make_rally(campaign), make_rally(campaign)
        client = app.test_client()
        codes = [rsvp_post(client, one, email=f"p{i}@example.org").status_code for i in range(4)]
        assert codes == [303, 303, 303, 429]
        assert rsvp_post(client, two, email="p9@example.org").status_code == 303  # per rally
        other_ip = client.post(f"/r/{one.slug}/rsvp", data={"name": "B", "email": "b@example.org", "guests": "0"},
                               environ_base={"REMOTE_ADDR": "10.9.9.9"})
        assert other_ip.status_code == 303  # per address
        assert len(_rsvps(one)) == 4


# ------------------------------------------------------------------------ item 2: confirm by email


@pytest.fixture
def gated(owner, make_rally):
    return make_rally(campaign_of(owner), capacity=2, max_guests=3, confirm_by_email=True)


def test_confirm_by_email_rally_holds_no_place_until_confirmed(client, gated):
    resp = rsvp_post(client, gated, email="c@example.org", guests=1)
    assert resp.status_code == 303 and "/t/" not in resp.headers["Location"]
    assert "Check your email" in client.get(resp.headers["Location"]).get_data(as_text=True)
    (row,) = _rsvps(gated)
    assert row.status == "unconfirmed" and row.supporter_id is None
    assert stored_counts(gated.id) == counts_from_rows(gated.id) and stored_counts(gated.id)["going_people"] == 0
    (message,) = outbox("confirmation", "c@example.org")
    assert message.render_params["reason"] == "confirm"
    assert f"/t/{page_token(row)}/confirm" in _body(message)
    # A repeat (any spelling) looks the same and re-sends, within the limit.
    again = rsvp_post(client, gated, email="C+x@example.org", guests=0)
    assert again.headers["Location"] == resp.headers["Location"] and len(_rsvps(gated)) == 1
    # Not on the door list, no QR, no door code until confirmed.
    from rallies.door.sync import sync_payload

    assert [t[0] for t in sync_payload(gated.id, 0, 0)["tickets"]] == []
    assert client.get(f"/t/{page_token(row)}/qr.png").status_code == 404
    page = client.get(f"/t/{page_token(row)}").get_data(as_text=True)
    assert "Confirm your place" in page and f"/t/{page_token(row)}/confirm" in page
    assert client.post(f"/t/{page_token(row)}/confirm").status_code == 303
    (row,) = _rsvps(gated)
    assert row.status == "going" and row.supporter_id is not None
    assert stored_counts(gated.id) == counts_from_rows(gated.id) and stored_counts(gated.id)["going_people"] == 2
    assert [t[0] for t in sync_payload(gated.id, 0, 0)["tickets"]] == [row.id]


def test_confirmation_runs_the_capacity_decision(client, gated):
    rsvp_post(client, gated, email="first@example.org", guests=1)
    rsvp_post(client, gated, email="second@example.org", guests=0)
    first, second = _rsvps(gated)
    client.post(f"/t/{page_token(second)}/confirm")
    client.post(f"/t/{page_token(first)}/confirm")  # confirmed later: the room is gone
    first, second = _rsvps(gated)
    assert (second.status, first.status) == ("going", "waitlisted")
    assert stored_counts(gated.id) == counts_from_rows(gated.id)


def test_organizer_form_sets_the_confirm_option(client, rally, owner, login):
    login(client, owner)
    form = client.get(f"/organize/rallies/{rally.id}/edit").get_data(as_text=True)
    assert 'name="confirm_by_email"' in form
    from rallies.rallies.lifecycle import RallyDetails

    data = {k: ("" if v is None else v) for k, v in RallyDetails.of(rally).__dict__.items()}
    data.update(starts_local=data["starts_local"].strftime("%Y-%m-%dT%H:%M"),
                ends_local=data["ends_local"].strftime("%Y-%m-%dT%H:%M"),
                doors_local=data["doors_local"].strftime("%Y-%m-%dT%H:%M") if data["doors_local"] else "",
                confirm_by_email="y")
    resp = client.post(f"/organize/rallies/{rally.id}/edit", data=data)
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(rally), rally.id).confirm_by_email is True


# ------------------------------------------------------------------------ item 2: look-alike clusters


def test_rsvp_list_shows_clusters_of_lookalike_addresses(client, rally, owner, login):
    for email in ("mallory1@example.org", "mal.lory2@example.org", "mallory3+x@example.org", "alice@example.org",
                  "mallory@example.net"):
        rsvp_post(client, rally, email=email)
    login(client, owner)
    html = client.get(f"/organize/rallies/{rally.id}/rsvps").get_data(as_text=True)
    assert "Look-alike addresses" in html
    section = html.split("Look-alike addresses", 1)[1].split("</section>", 1)[0]
    for email in ("mallory1@example.org", "mal.lory2@example.org", "mallory3+x@example.org"):
        assert email in section
    assert "alice@example.org" not in section and "mallory@example.net" not in section


# ------------------------------------------------------------------------ item 4: no secret in the .ics


def _unfold(ics: str) -> str:
    return ics.replace("\r\n ", "")


def test_ics_download_and_attachment_carry_no_ticket_link(client, rally):
    token = token_from(rsvp_post(client, rally, email="cal@example.org"))
    ics = _unfold(client.get(f"/t/{token}/rally.ics").get_data(as_text=True))
    page_url = f"http://localhost/r/{rally.slug}"
    assert token not in ics and "/t/" not in ics
    assert f"URL:{page_url}" in ics.split("\r\n") and page_url in ics.split("DESCRIPTION:", 1)[1].split("\r\n")[0]
    (message,) = outbox("confirmation")
    raw = delivery.render_body(message).decode("ascii", "replace")
    import email

    parsed = email.message_from_string(raw)
    (part,) = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    attached = _unfold(part.get_payload(decode=True).decode("utf-8"))
    assert token not in attached and f"URL:{page_url}" in attached.split("\r\n")


# ------------------------------------------------------------------------ the migration's backfill


@pytest.mark.slow
def test_migration_backfills_mailbox_keys_and_keeps_old_lookalikes_apart(empty_database):
    """Old rows get their canonical key; a second spelling already in a rally keeps its own address."""
    from datetime import UTC, datetime

    from config import TestingConfig
    from rallies import create_app

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=empty_database)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "069518cfc091"]).exit_code == 0
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with app.app_context():
        meta = sa.MetaData()
        meta.reflect(db.engine, only=["campaign", "rally", "rsvp", "outbox_message"])

        def row(table, **given):
            values = {}
            for col in meta.tables[table].columns:
                if col.name in given or col.nullable or col.primary_key:
                    continue
                kind = col.type.python_type if hasattr(col.type, "python_type") else str
                values[col.name] = (now if kind is datetime else False if kind is bool else 0 if kind is int
                                    else "x")
            return {**values, **given}

        with db.engine.begin() as conn:
            conn.execute(meta.tables["campaign"].insert(), row("campaign", id=1))
            conn.execute(meta.tables["rally"].insert(), row("rally", id=1, campaign_id=1, slug="r"))
            for i, email in enumerate(("m.allory@gmail.com", "mallory+1@gmail.com", "sam@example.org", None), 1):
                conn.execute(meta.tables["rsvp"].insert(), row("rsvp", id=i, rally_id=1, email=email,
                                                               token=f"t{i}", status="going"))
            conn.execute(meta.tables["outbox_message"].insert(), row("outbox_message", rsvp_id=1, message_id="m1"))
        db.engine.dispose()
    result = runner.invoke(args=["db", "upgrade", "b7e3c1a9d2f4"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    with app.app_context():
        keys = db.session.execute(sa.text("SELECT id, email_key FROM rsvp ORDER BY id")).all()
        assert [tuple(k) for k in keys] == [(1, "mallory@gmail.com"), (2, "mallory+1@gmail.com"),
                                            (3, "sam@example.org"), (4, None)]
        assert db.session.execute(sa.text("SELECT confirm_by_email FROM rally")).scalar() in (False, 0)
        # Rebuilding the table on SQLite ran no ON DELETE actions on the rows that point at it.
        assert db.session.execute(sa.text("SELECT rsvp_id FROM outbox_message")).scalar() == 1
        db.session.remove()
        db.engine.dispose()
