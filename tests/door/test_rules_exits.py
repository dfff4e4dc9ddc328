"""Exit scans and inside now (issue 14): entries minus exits, re-entry policy, unknown exits, replays, undo."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from rallies.database import atomic
from rallies.door.admissions import admit_walkin, undo_checkin
from rallies.door.checkin import check_in
from rallies.door.exits import check_out
from rallies.extensions import db
from rallies.models import Rally, ScanLog, utcnow
from rallies.rallies.counters import recount_checkins
from tests.factories import at_door, campaign_of, door_session, make_door, make_ticket, nonce
from tests.stored import door_totals, inside_from_rows, stored_rally, stored_rsvp
from tests.web import door_post


@pytest.fixture
def door(make_user):
    return at_door(campaign_of(make_user()), capacity=None, max_guests=3)


def inside(rally) -> int:
    return stored_rally(rally.id).inside_people


def test_entries_minus_exits_per_rally_and_door_walkins_included(door):
    rsvp, code = make_ticket(door.rally, guests=2)
    assert check_in(code, door.scanner, nonce=nonce()).admitted == 3
    admit_walkin(door.scanner, name="Walk In", guests=1, nonce=nonce())
    assert inside(door.rally) == 5
    south = make_door(door.rally, "South gate")
    south_ctx = door_session(south, device="Phone 9")[0]
    out = check_out(code, south_ctx, nonce=nonce(), people=2)
    assert (out.verdict, out.reason, out.extra["left"], out.admitted) == ("exit", "ok", 2, 0)
    assert out.ticket["inside"] == 1
    assert inside(door.rally) == 3 == inside_from_rows(door.rally.id)
    assert (door_totals(door.door).inside_people, door_totals(south).inside_people) == (5, -2)
    rally = stored_rally(door.rally.id)
    assert (rally.checked_in_people, rally.walkin_people) == (5, 2)  # arrivals are not taken back by exits
    assert (stored_rsvp(rsvp.id).checked_in_people, stored_rsvp(rsvp.id).outside_people) == (3, 2)


def test_reentry_allowed_counts_inside_again_not_as_an_arrival(door):
    rsvp, code = make_ticket(door.rally)
    check_in(code, door.scanner, nonce=nonce())
    check_out(code, door.scanner, nonce=nonce())
    assert inside(door.rally) == 0
    back = check_in(code, door.scanner, nonce=nonce())
    assert (back.verdict, back.reason, back.admitted) == ("admit", "reentry", 1)
    assert inside(door.rally) == 1 and stored_rally(door.rally.id).checked_in_people == 1
    assert check_in(code, door.scanner, nonce=nonce()).verdict == "already"  # inside already: no second entry


def test_reentry_refused_when_the_rally_allows_none(door):
    with atomic():
        db.session.execute(sa.update(Rally).where(Rally.id == door.rally.id).values(reentry_allowed=False))
    _rsvp, code = make_ticket(door.rally)
    check_in(code, door.scanner, nonce=nonce())
    check_out(code, door.scanner, nonce=nonce())
    refused = check_in(code, door.scanner, nonce=nonce())
    assert (refused.verdict, refused.reason, refused.admitted) == ("no_reentry", "reentry_not_allowed", 0)
    assert refused.message == "No re-entry" and refused.previous["door"] == "North gate"
    assert inside(door.rally) == 0
    # A supervisor may let them back in.
    forced = check_in(code, door.supervisor, nonce=nonce(), force=True)
    assert (forced.verdict, forced.reason) == ("admit", "reentry") and inside(door.rally) == 1


def test_an_exit_without_a_known_entry_is_accepted_flagged_and_counts_no_one(door):
    _rsvp, code = make_ticket(door.rally)
    out = check_out(code, door.scanner, nonce=nonce())
    assert (out.verdict, out.reason, out.extra["left"]) == ("exit", "exit_without_entry", 0)
    assert out.flags["conflict"] and out.flags["unknown_entry"]
    assert inside(door.rally) == 0
    scan = db.session.scalars(sa.select(ScanLog)).one()
    assert (scan.verdict, scan.reason, scan.conflict) == ("exit", "exit_without_entry", True)


def test_exit_of_a_forged_code_is_refused_like_an_entry(door):
    out = check_out("RT1.not-a-ticket", door.scanner, nonce=nonce())
    assert out.verdict == "invalid" and inside(door.rally) == 0


def test_exit_replayed_is_counted_once(door):
    _rsvp, code = make_ticket(door.rally, guests=1)
    check_in(code, door.scanner, nonce=nonce())
    key = nonce()
    first = check_out(code, door.scanner, nonce=key, people=1)
    again = check_out(code, door.scanner, nonce=key, people=1)
    assert again.replayed and again.scan_id == first.scan_id and again.verdict == "exit"
    assert inside(door.rally) == 1


def test_undo_of_an_exit_puts_them_inside_again(door):
    rsvp, code = make_ticket(door.rally, guests=1)
    check_in(code, door.scanner, nonce=nonce())
    check_out(code, door.scanner, nonce=nonce())
    assert inside(door.rally) == 0
    undone = undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="scanned in Exit mode by mistake", nonce=nonce())
    assert undone.verdict == "undo" and undone.reason == "undone"
    assert inside(door.rally) == 2 == inside_from_rows(door.rally.id)
    assert stored_rsvp(rsvp.id).outside_people == 0 and door_totals(door.door).inside_people == 2
    # Then the entry itself.
    undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="wrong ticket", nonce=nonce())
    assert inside(door.rally) == 0 and stored_rally(door.rally.id).checked_in_people == 0


def test_undo_of_a_reentry_puts_them_outside_again(door):
    rsvp, code = make_ticket(door.rally)
    check_in(code, door.scanner, nonce=nonce())
    check_out(code, door.scanner, nonce=nonce())
    check_in(code, door.scanner, nonce=nonce())
    undo_checkin(door.supervisor, rsvp_id=rsvp.id, reason="mistake", nonce=nonce())
    assert inside(door.rally) == 0 and stored_rsvp(rsvp.id).outside_people == 1
    assert stored_rally(door.rally.id).checked_in_people == 1


def test_recount_rebuilds_inside_from_entries_and_exits(door):
    _rsvp, code = make_ticket(door.rally, guests=2)
    check_in(code, door.scanner, nonce=nonce())
    check_out(code, door.scanner, nonce=nonce(), people=1)
    check_in(code, door.scanner, nonce=nonce())
    before = (inside(door.rally), door_totals(door.door).inside_people)
    with atomic():
        db.session.execute(sa.update(Rally).where(Rally.id == door.rally.id).values(inside_people=99))
        recount_checkins(door.rally.id)
    assert (inside(door.rally), door_totals(door.door).inside_people) == before == (3, 3)


def test_offline_exits_upload_once_and_count(client, make_user):
    door = at_door(campaign_of(make_user()), capacity=None, max_guests=3)
    _ctx, secret, _link = door_session(door.door, device="Phone 5")
    _rsvp, code = make_ticket(door.rally, guests=1)
    then = int((utcnow() - timedelta(minutes=20)).timestamp() * 1000)
    scans = [{"code": code, "nonce": "in-aaaaaaaa", "client_time": then, "offline": True},
             {"code": code, "nonce": "out-aaaaaaa", "client_time": then + 60_000, "offline": True,
              "direction": "exit", "people": 1}]
    body = door_post(client, door.door.id, "upload", {"scans": scans}, secret).get_json()
    assert [r["verdict"] for r in body["results"]] == ["admit", "exit"]
    assert body["inside"]["rally"] == 1 and body["inside"]["door"] == 1
    again = door_post(client, door.door.id, "upload", {"scans": scans}, secret).get_json()
    assert all(r["replayed"] for r in again["results"]) and again["inside"]["rally"] == 1
    assert inside(door.rally) == 1 == inside_from_rows(door.rally.id)


def test_online_exit_through_the_api_answers_inside_now(client, make_user):
    door = at_door(campaign_of(make_user()), capacity=None, safe_capacity=50)
    _ctx, secret, _link = door_session(door.door, device="Phone 5")
    _rsvp, code = make_ticket(door.rally)
    entered = door_post(client, door.door.id, "checkin", {"code": code, "nonce": nonce()}, secret).get_json()
    assert entered["inside"] == {"rally": 1, "safe_capacity": 50, "full": False, "overflow": None, "door": 1}
    left = door_post(client, door.door.id, "checkin", {"code": code, "nonce": nonce(), "direction": "exit"},
                     secret).get_json()
    assert left["verdict"] == "exit" and left["inside"]["rally"] == 0
    bad = door_post(client, door.door.id, "checkin", {"code": code, "nonce": nonce(), "direction": "sideways"}, secret)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_direction"
    status = client.get(f"/door/{door.door.id}/api/status", headers={"Authorization": f"Bearer {secret}"}).get_json()
    assert (status["rally"]["inside"], status["door"]["inside"], status["rally"]["venue_full"]) == (0, 0, False)
    sync = client.get(f"/door/{door.door.id}/api/sync", headers={"Authorization": f"Bearer {secret}"}).get_json()
    assert sync["inside"]["rally"] == 0 and sync["rally"]["safe_capacity"] == 50 and sync["rally"]["doors"] == 1
    assert [t[4:] for t in sync["tickets"]] == [[1, 1]]  # admitted 1, of them outside again 1


def test_doors_page_shows_inside_now_and_each_doors_net_flow(client, make_user, login):
    user = make_user()
    door = at_door(campaign_of(user), capacity=None, safe_capacity=1)
    _rsvp, code = make_ticket(door.rally)
    check_in(code, door.scanner, nonce=nonce())
    login(client, user)
    page = client.get(f"/door/rally/{door.rally.id}/").get_data(as_text=True)
    assert "Inside now: <strong>1</strong>" in page and "(safe capacity 1)" in page and "VENUE FULL: HOLD" in page
    assert "<td>North gate</td><td>1</td><td>1</td><td>0</td><td>1</td>" in page  # lanes, admitted, walk-ins, net in
