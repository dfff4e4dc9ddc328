"""Issue 9, the door: who may enter. Each test reproduces an abuse found over HTTP (items 3, 5-9, 11a)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from rallies.database import atomic
from rallies.door.admissions import admit_walkin, undo_checkin
from rallies.door.checkin import check_in
from rallies.door.scans import conflict_report
from rallies.door.verdicts import CheckinInputError
from rallies.extensions import db
from rallies.keys.link_secrets import page_token
from rallies.models import ArrivalMinute, Checkin, DoorSession, Rally, Rsvp, ScanLog, Supporter, utcnow
from rallies.rsvp import rsvps
from tests.factories import campaign_of, door_link, door_session, live_rally, make_door, make_rsvp, make_ticket, nonce
from tests.stored import fresh
from tests.web import bearer, door_post


@pytest.fixture
def owner(make_user):
    return make_user()


@pytest.fixture
def live(owner):
    """A rally happening now with capacity 10, a door and a scanner device: (rally, door, ctx, secret)."""
    rally = live_rally(campaign_of(owner), capacity=10, max_guests=3)
    door = make_door(rally)
    ctx, secret, _link = door_session(door)
    return rally, door, ctx, secret


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# --- item 3: a party cannot give away places it is standing in ----------------------------------------


def test_admitted_party_cannot_cut_guests_or_cancel_to_free_places(live):
    rally, _door, ctx, _secret = live
    party = make_rsvp(rally, "Pat Four", "pat@example.org", 3).rsvp
    make_rsvp(rally, "Bo Four", "bo@example.org", 3)
    make_rsvp(rally, "Cy Two", "cy@example.org", 1)
    waiting = make_rsvp(rally, "Wes Wait", "wes@example.org", 2).rsvp
    assert waiting.status == "waitlisted"
    assert check_in(None, ctx, nonce=nonce(), ticket_id=party.id).admitted == 4
    with pytest.raises(rsvps.RsvpError, match="already inside"):
        rsvps.change_guests(fresh(Rsvp, party.id), 0)
    with pytest.raises(rsvps.RsvpError, match="already inside"):
        rsvps.cancel_rsvp(fresh(Rsvp, party.id))
    after = fresh(Rsvp, party.id)
    assert (after.status, after.guests) == ("going", 3)
    assert fresh(Rsvp, waiting.id).status == "waitlisted"
    assert fresh(Rally, rally.id).going_people == 10


def test_partly_admitted_party_shrinks_only_to_the_people_inside(live):
    rally, _door, ctx, _secret = live
    party = make_rsvp(rally, "Pat Four", "pat@example.org", 3).rsvp
    make_rsvp(rally, "Bo Four", "bo@example.org", 3)
    make_rsvp(rally, "Cy Two", "cy@example.org", 1)
    waiting = make_rsvp(rally, "Wes Wait", "wes@example.org", 1).rsvp
    check_in(None, ctx, nonce=nonce(), ticket_id=party.id, people=2)
    with pytest.raises(rsvps.RsvpError, match="2 of your party"):
        rsvps.change_guests(fresh(Rsvp, party.id), 0)
    rsvps.change_guests(fresh(Rsvp, party.id), 1)  # the two inside: frees exactly two places
    assert fresh(Rsvp, waiting.id).status == "going"
    assert fresh(Rally, rally.id).going_people == 10


def test_ticket_page_cancel_of_an_admitted_party_says_so(client, live):
    rally, _door, ctx, _secret = live
    party = make_rsvp(rally, "Pat Four", "pat@example.org", 1).rsvp
    check_in(None, ctx, nonce=nonce(), ticket_id=party.id)
    resp = client.post(f"/t/{page_token(party)}/cancel", data={}, follow_redirects=True)
    assert resp.status_code < 500 and "already inside" in resp.get_data(as_text=True)
    assert fresh(Rsvp, party.id).status == "going"


def test_door_warns_once_admitted_reaches_capacity(client, live):
    rally, door, ctx, secret = live
    big = make_rsvp(rally, "Big Party", "big@example.org", 3).rsvp
    with atomic():
        db.session.get(Rally, rally.id).capacity = 5
    one = make_rsvp(rally, "Solo One", "solo@example.org", 0).rsvp
    first = door_post(client, door.id, "checkin", {"ticket_id": big.id, "nonce": nonce()}, secret).get_json()
    assert first["verdict"] == "admit" and first["at_capacity"] is False
    status = client.get(f"/door/{door.id}/api/status", headers=bearer(secret)).get_json()
    assert status["rally"]["at_capacity"] is False
    last = door_post(client, door.id, "checkin", {"ticket_id": one.id, "nonce": nonce()}, secret).get_json()
    assert last["at_capacity"] is True
    status = client.get(f"/door/{door.id}/api/status", headers=bearer(secret)).get_json()
    assert status["rally"]["at_capacity"] is True


# --- item 5: one decision for online scans, offline uploads and search admits --------------------------


@pytest.mark.parametrize("status", ["cancelled", "waitlisted", "unconfirmed"])
def test_upload_cannot_admit_what_checkin_refuses(client, live, status):
    rally, door, _ctx, secret = live
    ticket, code = make_ticket(rally, status=status)
    # Online, the scanner is refused.
    online = door_post(client, door.id, "checkin", {"ticket_id": ticket.id, "nonce": nonce()}, secret).get_json()
    assert online["verdict"] == status
    # An upload made while online (client_time is now) gets exactly that verdict.
    same = door_post(client, door.id, "upload", {"scans": [{"ticket_id": ticket.id, "nonce": nonce(),
                                                        "client_time": ms(utcnow())}]}, secret).get_json()
    assert same["results"][0]["verdict"] == status and same["results"][0]["reason"] == online["reason"]
    # An offline admission is an override: flagged, reported, never counted as an admission.
    then = ms(utcnow() - timedelta(minutes=20))
    offline = door_post(client, door.id, "upload", {"scans": [{"code": code, "nonce": nonce(), "client_time": then,
                                                           "device_verdict": "admit"}]}, secret).get_json()
    result = offline["results"][0]
    assert result["verdict"] == status and result["flags"]["override"] and result["flags"]["conflict"]
    assert fresh(Rally, rally.id).checked_in_people == 0 and fresh(Rsvp, ticket.id).checked_in_people == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Checkin)) == 0
    report = conflict_report(rally.id)
    assert [(c["ticket_id"], c["override"]) for c in report] == [(ticket.id, True)]


def test_explicit_online_flag_gets_the_online_verdict(client, live):
    rally, door, _ctx, secret = live
    ticket, code = make_ticket(rally)
    door_post(client, door.id, "checkin", {"code": code, "nonce": nonce()}, secret)
    then = ms(utcnow() - timedelta(minutes=20))
    body = door_post(client, door.id, "upload", {"scans": [{"code": code, "nonce": nonce(), "client_time": then,
                                                        "online": True}]}, secret).get_json()
    assert body["results"][0]["verdict"] == "already" and not body["results"][0]["flags"]["conflict"]
    # The scanner page marks what it decided offline: recorded (flagged), even when uploaded at once.
    body = door_post(client, door.id, "upload", {"scans": [{"code": code, "nonce": nonce(), "client_time": ms(utcnow()),
                                                        "offline": True}]}, secret).get_json()
    assert body["results"][0]["reason"] == "offline_conflict" and body["results"][0]["admitted"] == 0
    assert fresh(Rally, rally.id).checked_in_people == 1


def test_search_admit_needs_no_signing_key(client, live):
    rally, door, _ctx, secret = live
    ticket, _code = make_ticket(rally)
    with atomic():
        db.session.get(Rally, rally.id).signing_key = None  # the door path never reads it
    body = door_post(client, door.id, "checkin", {"ticket_id": ticket.id, "nonce": nonce()}, secret).get_json()
    assert body["verdict"] == "admit"
    from rallies.door import checkin, decision, scan_input, scan_record, ticket_reads

    assert not any(hasattr(module, "code_for_ticket") for module in (checkin, decision, scan_input, scan_record,
                                                                     ticket_reads))


# --- item 6: device times are checked, not trusted ----------------------------------------------------


def test_client_time_before_the_session_began_is_flagged_and_server_time_used(client, live):
    rally, door, _ctx, secret = live
    _ticket, code = make_ticket(rally)
    forty_hours_ago = utcnow() - timedelta(hours=40)
    body = door_post(client, door.id, "upload", {"scans": [{"code": code, "nonce": nonce(), "client_time": ms(forty_hours_ago),
                                                        "device_verdict": "admit"}]}, secret).get_json()
    assert body["results"][0]["verdict"] == "admit" and body["results"][0]["flags"]["clock"] is True
    started = db.session.scalar(sa.select(DoorSession.created_at))
    admitted_at = db.session.scalar(sa.select(Checkin.admitted_at))
    assert admitted_at >= started
    minutes = db.session.scalars(sa.select(ArrivalMinute.minute)).all()
    assert minutes and all(m >= started.replace(second=0, microsecond=0) for m in minutes)


def test_client_time_outside_the_door_window_is_flagged(make_user, make_rally):
    owner = make_user()
    # Doors open in six days; the device was set up yesterday, so only the window can flag its clock.
    rally = make_rally(campaign_of(owner), starts_at=utcnow() + timedelta(days=6))
    _ctx, secret, _link = door_session(make_door(rally))
    with atomic():
        db.session.execute(sa.update(DoorSession).values(created_at=utcnow() - timedelta(days=1)))
    from rallies.door import doors

    ctx = doors.authenticate(secret)
    _ticket, code = make_ticket(rally)
    v = check_in(code, ctx, nonce=nonce(), client_time=utcnow() - timedelta(minutes=30), offline=True,
                 device_verdict="admit")
    assert v.flags["clock"] is True


# --- item 7: walk-ins only at the rally ---------------------------------------------------------------


def test_walkins_are_refused_days_before_the_rally(client, owner, make_rally):
    rally = make_rally(campaign_of(owner), capacity=40, starts_at=utcnow() + timedelta(days=10))
    door = make_door(rally)
    secret = door_session(door)[1]
    resp = door_post(client, door.id, "walkin", {"name": "Early Bird", "guests": 2, "nonce": nonce()}, secret)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "outside_door_window"
    up = door_post(client, door.id, "upload", {"scans": [{"kind": "walkin", "name": "Early Bird", "nonce": nonce(),
                                                      "client_time": ms(utcnow() - timedelta(minutes=20))}]}, secret)
    assert up.get_json()["results"][0]["error"]["code"] == "outside_door_window"
    assert fresh(Rally, rally.id).going_people == 0


def test_walkins_take_no_places_beyond_the_organizers_limit(live):
    rally, _door, ctx, _secret = live
    with atomic():
        db.session.get(Rally, rally.id).walkin_limit = 3
    assert admit_walkin(ctx, name="Walk One", guests=1, nonce=nonce()).admitted == 2
    with pytest.raises(CheckinInputError) as err:
        admit_walkin(ctx, name="Walk Two", guests=1, nonce=nonce())
    assert err.value.code == "walkin_limit"
    assert admit_walkin(ctx, name="Walk Three", nonce=nonce()).admitted == 1
    r = fresh(Rally, rally.id)
    assert (r.going_people, r.walkin_people) == (3, 3)


def test_organizer_sets_walkin_places_on_the_doors_page(client, login, live, owner, make_user):
    rally, _door, _ctx, _secret = live
    login(client, owner)
    assert "Walk-in places" in client.get(f"/door/rally/{rally.id}/").get_data(as_text=True)
    assert client.post(f"/door/rally/{rally.id}/walkins", data={"walkin_limit": "-1"}).status_code == 422
    assert client.post(f"/door/rally/{rally.id}/walkins", data={"walkin_limit": "25"}).status_code == 302
    assert fresh(Rally, rally.id).walkin_limit == 25
    client.post(f"/door/rally/{rally.id}/walkins", data={"walkin_limit": ""})
    assert fresh(Rally, rally.id).walkin_limit is None
    viewer = make_user(campaign=campaign_of(owner), role="viewer")
    login(client, viewer)
    assert client.post(f"/door/rally/{rally.id}/walkins", data={"walkin_limit": "99"}).status_code in (403, 404)
    assert fresh(Rally, rally.id).walkin_limit is None


def test_walkins_fill_only_free_places_by_default(live):
    rally, _door, ctx, _secret = live
    make_rsvp(rally, "Pat Four", "pat@example.org", 3)
    make_rsvp(rally, "Bo Four", "bo@example.org", 3)
    with pytest.raises(CheckinInputError) as err:
        admit_walkin(ctx, name="Walk In", guests=2, nonce=nonce())
    assert err.value.code == "walkin_limit"
    assert admit_walkin(ctx, name="Walk In", guests=1, nonce=nonce()).admitted == 2
    assert fresh(Rally, rally.id).going_people == 10
    late = make_rsvp(rally, "Late Online", "late@example.org", 0).rsvp
    assert late.status == "waitlisted"


def test_walkin_ceilings_per_request_and_per_device(live, owner):
    rally, door, ctx, _secret = live
    with pytest.raises(CheckinInputError) as err:
        admit_walkin(ctx, name="Huge Party", guests=20, nonce=nonce())
    assert err.value.code == "invalid_guests"
    big = live_rally(campaign_of(owner), capacity=None)
    big_ctx = door_session(make_door(big))[0]
    from rallies.door.admissions import MAX_WALKIN_GUESTS, WALKINS_PER_DEVICE

    admitted = 0
    while admitted + MAX_WALKIN_GUESTS + 1 <= WALKINS_PER_DEVICE:
        admitted += admit_walkin(big_ctx, name="Walk In", guests=MAX_WALKIN_GUESTS, nonce=nonce()).admitted
    with pytest.raises(CheckinInputError) as err:
        admit_walkin(big_ctx, name="One More", guests=MAX_WALKIN_GUESTS, nonce=nonce())
    assert err.value.code == "device_walkin_limit"
    other_ctx = door_session(db.session.get(type(door), big_ctx.door_id), device="Phone 2")[0]
    assert admit_walkin(other_ctx, name="Other Phone", nonce=nonce()).admitted == 1


def test_undo_of_a_walkin_gives_the_places_back(live):
    rally, door, _ctx, _secret = live
    boss = door_session(door, role="supervisor", device="Boss")[0]
    v = admit_walkin(boss, name="Walk In", guests=2, nonce=nonce())
    undo_checkin(boss, rsvp_id=v.ticket["id"], reason="fake walk-in", nonce=nonce())
    r = fresh(Rally, rally.id)
    assert (r.going_people, r.going_parties, r.guests_count, r.checked_in_people, r.walkin_people) == (0, 0, 0, 0, 0)
    assert fresh(Rsvp, v.ticket["id"]).status == "cancelled"
    assert r.cancelled_parties == 1


# --- item 8: the scan log cannot be flooded -----------------------------------------------------------


@pytest.fixture
def limited(app_factory):
    def build(**config):
        app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", **config)
        return app

    return build


def test_upload_counts_each_scan_against_the_limit(limited, owner):
    app = limited(RATELIMIT_DOOR="5 per minute")
    client = app.test_client()
    rally = live_rally(campaign_of(owner))
    door = make_door(rally)
    secret = door_session(door)[1]
    junk = [{"code": f"junk-{i}", "nonce": nonce(), "device_verdict": "admit"} for i in range(4)]
    assert door_post(client, door.id, "upload", {"scans": junk}, secret).status_code == 200
    resp = door_post(client, door.id, "upload", {"scans": junk[:2]}, secret)
    assert resp.status_code == 429
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScanLog)) == 4


def test_link_openings_are_rate_limited_per_ip(limited, owner):
    app = limited(RATELIMIT_DOOR_LINK="2 per minute", WTF_CSRF_ENABLED=False)
    client = app.test_client()
    rally = live_rally(campaign_of(owner))
    door = make_door(rally)
    _link, link_secret = door_link(door)
    codes = [client.post(f"/door/l/{link_secret}", data={"device_name": f"Phone {i}"}).status_code for i in range(3)]
    assert codes == [302, 302, 429]


def test_devices_per_link_are_capped(client, app, owner):
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["DOOR_DEVICES_PER_LINK"] = 2
    rally = live_rally(campaign_of(owner))
    door = make_door(rally)
    _link, link_secret = door_link(door)
    codes = [client.post(f"/door/l/{link_secret}", data={"device_name": f"Phone {i}"}).status_code for i in range(3)]
    assert codes == [302, 302, 422]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DoorSession)) == 2


def test_scan_log_hides_invalid_codes_on_request(client, login, live, owner):
    rally, door, _ctx, secret = live
    _ticket, code = make_ticket(rally)
    door_post(client, door.id, "checkin", {"code": "junk", "nonce": nonce()}, secret)
    door_post(client, door.id, "checkin", {"code": code, "nonce": nonce()}, secret)
    api = client.get(f"/door/{door.id}/api/log?hide_invalid=1", headers=bearer(secret)).get_json()["scans"]
    assert [s["verdict"] for s in api] == ["admit"]
    login(client, owner)
    page = client.get(f"/door/rally/{rally.id}/log?hide_invalid=1").get_data(as_text=True)
    assert "verdict-invalid" not in page and "verdict-admit" in page and "Show invalid codes" in page
    page = client.get(f"/door/rally/{rally.id}/log").get_data(as_text=True)
    assert "verdict-invalid" in page and "Hide invalid codes" in page


# --- item 9: door search finds people by name only ----------------------------------------------------


def test_door_search_never_matches_email_or_phone(client, live):
    rally, door, _ctx, secret = live
    make_rsvp(rally, "Dana Scully", "xfiles@example.org", phone="+13125550142")

    def found(q):
        return client.get(f"/door/{door.id}/api/search", query_string={"q": q}, headers=bearer(secret)).get_json()["results"]

    assert [r["name"] for r in found("dan")] == ["Dana S."]
    assert found("xf") == [] and found("xfiles@example.org") == []
    assert found("+1312") == [] and found("3125550142") == []
    assert "xfiles" not in fresh(Rsvp, db.session.scalar(sa.select(Rsvp.id))).search_name


# --- item 11a: walk-ins who give an email are supporters ----------------------------------------------


def test_walkin_with_email_gets_a_supporter_record(live):
    rally, _door, ctx, _secret = live
    v = admit_walkin(ctx, name="Walk In", email="Walker@Example.org", postal_code="60607", nonce=nonce())
    person = db.session.scalar(sa.select(Supporter).where(Supporter.email == "walker@example.org"))
    assert person is not None and person.campaign_id == ctx.campaign_id
    assert fresh(Rsvp, v.ticket["id"]).supporter_id == person.id
    from rallies.rsvp.supporters import export_person

    assert [r["name"] for r in export_person(person)["rsvps"]] == ["Walk In"]
