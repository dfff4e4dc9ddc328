"""The check-in decision (door.checkin): verdicts, parties, idempotency, offline, counters, races."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from rallies.database import atomic
from rallies.door import doors
from rallies.door.admissions import admit_walkin, reduce_admission, undo_checkin
from rallies.door.checkin import check_in
from rallies.door.verdicts import CheckinInputError
from rallies.extensions import db
from rallies.models import ArrivalMinute, Checkin, DoorSession, Rally, Rsvp, ScanLog, utcnow
from rallies.rallies import counters
from tests.factories import bulk_tickets, campaign_of, door_session, live_rally, make_door, make_ticket, nonce
from tests.stored import door_totals, fresh


@pytest.fixture
def setup(make_user, make_rally):
    user = make_user()
    rally = make_rally(campaign_of(user), capacity=10)
    door = make_door(rally)
    ctx, _secret, _link = door_session(door)
    return rally, door, ctx


def test_admit_then_already_with_when_where_who(setup):
    rally, door, ctx = setup
    rsvp, code = make_ticket(rally)
    first = check_in(code, ctx, nonce=nonce())
    assert first.verdict == "admit" and first.reason == "ok"
    assert first.ticket["name"] == "Ana L." and first.ticket["party"] == 1 and first.admitted == 1
    second = check_in(code, ctx, nonce=nonce())
    assert second.verdict == "already" and second.reason == "already_checked_in"
    assert second.previous["door"] == "North gate" and second.previous["device"] == "Phone 1"
    assert fresh(Rsvp, rsvp.id).checked_in_people == 1
    r = fresh(Rally, rally.id)
    assert (r.checked_in_people, r.checked_in_rsvp_people, r.walkin_people, r.peak_rate_per_min) == (1, 1, 0, 1)
    assert door_totals(door).checked_in_people == 1
    assert db.session.scalar(db.select(db.func.sum(ArrivalMinute.people))) == 1
    assert [s.verdict for s in db.session.scalars(db.select(ScanLog).order_by(ScanLog.id))] == ["admit", "already"]


def test_party_admitted_in_parts(setup):
    rally, _door, ctx = setup
    rsvp, code = make_ticket(rally, guests=2)
    part = check_in(code, ctx, nonce=nonce(), people=1)
    assert part.verdict == "admit" and part.ticket["remaining"] == 2
    too_many = check_in(code, ctx, nonce=nonce(), people=3)
    assert too_many.verdict == "already" and too_many.reason == "party_exceeded"
    rest = check_in(code, ctx, nonce=nonce())
    assert rest.verdict == "admit" and rest.admitted == 2 and rest.ticket["remaining"] == 0
    assert check_in(code, ctx, nonce=nonce()).verdict == "already"
    assert fresh(Rally, rally.id).checked_in_people == 3
    assert fresh(Rsvp, rsvp.id).checked_in_people == 3


def test_reduce_keeps_part_of_the_party(setup):
    rally, _door, ctx = setup
    rsvp, code = make_ticket(rally, guests=3)
    admitted = check_in(code, ctx, nonce=nonce())
    assert admitted.admitted == 4
    reduced = reduce_admission(ctx, scan_id=admitted.scan_id, keep=2, nonce=nonce())
    assert reduced.verdict == "undo" and reduced.ticket["remaining"] == 2
    assert fresh(Rally, rally.id).checked_in_people == 2
    later = check_in(code, ctx, nonce=nonce())
    assert later.verdict == "admit" and later.admitted == 2


def test_wrong_rally_names_the_other_rally(setup, make_rally):
    rally, _door, ctx = setup
    other = make_rally(db.session.get(Rally, rally.id).campaign, title="Springfield Town Hall")
    _rsvp, code = make_ticket(other)
    verdict = check_in(code, ctx, nonce=nonce())
    assert verdict.verdict == "wrong_rally" and verdict.rally["title"] == "Springfield Town Hall"
    assert fresh(Rally, rally.id).checked_in_people == 0


@pytest.mark.parametrize("bad, reason", [
    ("", "empty_code"), ("x" * 5000, "code_too_long"), ("hello world", "malformed_code"),
    ("RT9AAAA", "unknown_version"), (b"\xff\xfe\x00binary", "not_text"),
])
def test_unreadable_codes_are_not_valid(setup, bad, reason):
    _rally, _door, ctx = setup
    verdict = check_in(bad, ctx, nonce=nonce())
    assert verdict.verdict == "invalid" and verdict.reason == reason
    assert db.session.scalar(db.select(ScanLog.verdict)) == "invalid"


def test_forged_and_altered_codes(setup):
    rally, _door, ctx = setup
    _rsvp, code = make_ticket(rally)
    altered = code[:-5] + ("A" if code[-5] != "A" else "B") + code[-4:]
    assert check_in(altered, ctx, nonce=nonce()).reason == "bad_signature"
    other_id = code[:3] + "AAAAAAAB" + code[11:]  # another ticket id with this signature
    assert check_in(other_id, ctx, nonce=nonce()).verdict == "invalid"


def test_deleted_rally_and_deleted_ticket(setup, make_rally):
    rally, _door, ctx = setup
    gone = make_rally(db.session.get(Rally, rally.id).campaign)
    _r, gone_code = make_ticket(gone)
    rsvp, code = make_ticket(rally)
    with atomic():
        db.session.delete(db.session.get(Rally, gone.id))
        db.session.delete(db.session.get(Rsvp, rsvp.id))
    assert check_in(gone_code, ctx, nonce=nonce()).reason in ("unknown_ticket", "bad_signature")
    deleted = check_in(code, ctx, nonce=nonce())
    assert deleted.verdict == "revoked" and deleted.reason == "ticket_deleted"


def test_cancelled_and_waitlisted_need_a_supervisor(setup):
    rally, door, ctx = setup
    _c, cancelled = make_ticket(rally, status="cancelled")
    _w, waitlisted = make_ticket(rally, status="waitlisted")
    assert check_in(cancelled, ctx, nonce=nonce()).verdict == "cancelled"
    assert check_in(waitlisted, ctx, nonce=nonce()).verdict == "waitlisted"
    with pytest.raises(CheckinInputError) as err:
        check_in(cancelled, ctx, nonce=nonce(), force=True)
    assert err.value.status == 403
    boss, _s, _l = door_session(door, role="supervisor", device="Boss")
    forced = check_in(waitlisted, boss, nonce=nonce(), force=True)
    assert forced.verdict == "admit" and forced.reason == "forced" and forced.flags["forced"]
    assert fresh(Rally, rally.id).checked_in_people == 1


def test_same_nonce_returns_the_same_verdict_and_counts_once(setup):
    rally, _door, ctx = setup
    _rsvp, code = make_ticket(rally)
    n = nonce()
    first = check_in(code, ctx, nonce=n)
    again = check_in(code, ctx, nonce=n)
    assert first.verdict == again.verdict == "admit"
    assert again.replayed and again.scan_id == first.scan_id
    assert fresh(Rally, rally.id).checked_in_people == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(ScanLog)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(Checkin)) == 1


@pytest.mark.parametrize("bad", [None, "", "short", "x" * 65, "has space!", 12345678])
def test_bad_nonce_is_refused(setup, bad):
    rally, _door, ctx = setup
    _rsvp, code = make_ticket(rally)
    with pytest.raises(CheckinInputError) as err:
        check_in(code, ctx, nonce=bad)
    assert err.value.code == "invalid_nonce"


def test_far_clocks_are_accepted_but_flagged(setup):
    rally, _door, ctx = setup
    _a, future = make_ticket(rally)
    _b, past = make_ticket(rally)
    v1 = check_in(future, ctx, nonce=nonce(), client_time=utcnow() + timedelta(days=400))
    v2 = check_in(past, ctx, nonce=nonce(), client_time=utcnow() - timedelta(days=3), offline=True)
    assert v1.verdict == v2.verdict == "admit"
    assert v1.flags["clock"] and v2.flags["clock"]
    assert db.session.scalar(db.select(db.func.count()).where(ScanLog.clock_flagged.is_(True))) == 2
    # A flagged offline clock is not trusted for the arrival curve: server time is used.
    latest = db.session.scalar(db.select(db.func.min(Checkin.admitted_at)))
    assert latest > utcnow() - timedelta(minutes=5)


def test_offline_admissions_are_accepted_and_doubles_flagged(make_user):
    # Doors are open now, and both devices were set up an hour ago: their offline times are plausible.
    rally = live_rally(campaign_of(make_user()))
    door = make_door(rally)
    west = make_door(db.session.get(Rally, rally.id), "West gate")
    secrets_ = [door_session(door)[1], door_session(west, device="West phone")[1]]
    with atomic():
        db.session.execute(db.update(DoorSession).values(created_at=utcnow() - timedelta(hours=1)))
    ctx, west_ctx = (doors.authenticate(s) for s in secrets_)
    rsvp, code = make_ticket(rally)
    t1, t2 = utcnow() - timedelta(minutes=20), utcnow() - timedelta(minutes=18)
    a = check_in(code, ctx, nonce=nonce(), client_time=t1, offline=True, device_verdict="admit")
    b = check_in(code, west_ctx, nonce=nonce(), client_time=t2, offline=True, device_verdict="admit")
    assert a.verdict == b.verdict == "admit"
    assert not a.flags["conflict"] and b.flags["conflict"] and b.reason == "offline_conflict"
    assert fresh(Rsvp, rsvp.id).checked_in_people == 1 and fresh(Rally, rally.id).checked_in_people == 1
    first = db.session.scalar(db.select(Checkin).order_by(Checkin.id))
    assert abs((first.admitted_at - t1).total_seconds()) < 1  # the device's time, for the arrival curve
    from rallies.door.scans import conflict_report

    report = conflict_report(rally.id)
    assert len(report) == 1 and report[0]["door"] == "West gate"
    assert [a["door"] for a in report[0]["admissions"]] == ["North gate"]


def test_offline_refusal_is_logged_not_admitted(setup):
    rally, _door, ctx = setup
    _rsvp, code = make_ticket(rally)
    v = check_in(code, ctx, nonce=nonce(), offline=True, device_verdict="already")
    assert v.verdict == "already" and v.reason == "offline_refused"
    assert fresh(Rally, rally.id).checked_in_people == 0


def test_walkin_over_capacity_within_the_organizers_walkin_limit(make_user):
    rally = live_rally(campaign_of(make_user()), capacity=10)
    door = make_door(rally)
    ctx = door_session(door)[0]
    with atomic():
        full = db.session.get(Rally, rally.id)
        full.going_people, full.walkin_limit = 10, 5  # the organizer lets 5 walk-ins in even when full
    v = admit_walkin(ctx, name="Walk In", guests=2, nonce=nonce(), email="walk@example.org", postal_code="60607")
    assert v.verdict == "admit" and v.admitted == 3 and v.extra["over_capacity"]
    r = fresh(Rally, rally.id)
    assert (r.checked_in_people, r.walkin_people, r.checked_in_rsvp_people, r.going_people) == (3, 3, 0, 13)
    assert door_totals(door).walkin_people == 3
    walkin = db.session.get(Rsvp, v.ticket["id"])
    assert walkin.is_walkin and walkin.checked_in_people == 3 and walkin.door_name == "Walk I."
    with pytest.raises(CheckinInputError) as err:
        admit_walkin(ctx, name="Again", nonce=nonce(), email="walk@example.org")
    assert err.value.code == "already_registered"


def test_undo_needs_a_supervisor_and_a_reason(setup):
    rally, door, ctx = setup
    rsvp, code = make_ticket(rally, guests=1)
    check_in(code, ctx, nonce=nonce())
    with pytest.raises(CheckinInputError):
        undo_checkin(ctx, rsvp_id=rsvp.id, reason="wrong person", nonce=nonce())
    boss, _s, _l = door_session(door, role="supervisor", device="Boss")
    with pytest.raises(CheckinInputError) as err:
        undo_checkin(boss, rsvp_id=rsvp.id, reason=" ", nonce=nonce())
    assert err.value.code == "reason_required"
    undone = undo_checkin(boss, rsvp_id=rsvp.id, reason="wrong person", nonce=nonce())
    assert undone.verdict == "undo" and undone.admitted == -2
    assert fresh(Rsvp, rsvp.id).checked_in_people == 0 and fresh(Rally, rally.id).checked_in_people == 0
    assert door_totals(door).checked_in_people == 0
    assert db.session.scalar(db.select(Checkin.undo_reason)) == "wrong person"
    assert check_in(code, ctx, nonce=nonce()).verdict == "admit"


def test_race_threads_zero_double_admissions(app, setup):
    """40 tickets, each scanned by 4 threads with their own sessions at once: 40 admits exactly."""
    rally, _door, _ctx = setup
    rally_row = db.session.get(Rally, rally.id)
    tickets = bulk_tickets(rally_row, 40)
    doors_ = [make_door(rally_row, f"Gate {i}") for i in range(4)]
    contexts = [door_session(d, device=f"Phone {i}")[0] for i, d in enumerate(doors_)]
    results, barrier = [], threading.Barrier(4)

    def worker(ctx):
        with app.app_context():
            barrier.wait()
            for _id, code in tickets:
                results.append(check_in(code, ctx, nonce=nonce()).verdict)
            db.session.remove()

    threads = [threading.Thread(target=worker, args=(c,)) for c in contexts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("admit") == 40 and results.count("already") == 120
    db.session.rollback()  # end this thread's old read snapshot
    assert db.session.get(Rally, rally.id).checked_in_people == 40
    assert sum(d.checked_in_people for d in counters.door_totals(rally.id)) == 40
    assert db.session.scalar(db.select(db.func.max(Rsvp.checked_in_people))) == 1
