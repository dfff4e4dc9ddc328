"""How a scan names its ticket (door/ticket_reads.py): picked from a name search by id, or read from a code;
what the scan log keeps of it, and why an unreadable one is refused, online or uploaded."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from rallies.door.checkin import check_in
from rallies.door.exits import check_out
from rallies.extensions import db
from rallies.models import ScanLog, utcnow
from tests.factories import at_door, campaign_of, make_ticket, nonce


@pytest.fixture
def door(make_user):
    return at_door(campaign_of(make_user()), capacity=None, max_guests=3)


def last_scan() -> ScanLog:
    return db.session.scalars(sa.select(ScanLog).order_by(ScanLog.id.desc()).limit(1)).one()


def test_a_ticket_picked_by_name_is_logged_by_its_id(door):
    rsvp, _code = make_ticket(door.rally)
    assert check_in(None, door.scanner, nonce=nonce(), ticket_id=rsvp.id).verdict == "admit"
    assert (last_scan().code, last_scan().rsvp_id) == (f"ticket:{rsvp.id}", rsvp.id)


@pytest.mark.parametrize("offline", [False, True])
def test_an_unknown_picked_ticket_is_refused_and_logged_as_asked(door, offline):
    extra = dict(offline=True, online=False,
                 client_time=utcnow() - timedelta(minutes=2)) if offline else {}
    refused = check_out(None, door.scanner, nonce=nonce(), ticket_id=987654, **extra)
    assert (refused.verdict, refused.reason, refused.flags["offline"]) == ("invalid", "unknown_ticket", offline)
    assert (last_scan().code, last_scan().rsvp_id, last_scan().verdict) == ("987654", None, "invalid")


@pytest.mark.parametrize("bad, reason", [
    ("", "empty_code"), ("RT9AAAA", "unknown_version"), ("x" * 5000, "code_too_long"), ("hello", "malformed_code")])
def test_an_unreadable_exit_scan_says_why(door, bad, reason):
    refused = check_out(bad, door.scanner, nonce=nonce())
    assert (refused.verdict, refused.reason, refused.flags["offline"]) == ("invalid", reason, False)


def test_an_uploaded_forged_exit_keeps_its_offline_flag(door):
    _rsvp, code = make_ticket(door.rally)
    forged = code[:-5] + ("A" if code[-5] != "A" else "B") + code[-4:]
    refused = check_out(forged, door.scanner, nonce=nonce(), offline=True, online=False,
                        client_time=utcnow() - timedelta(minutes=2))
    assert (refused.verdict, refused.reason, refused.flags["offline"]) == ("invalid", "bad_signature", True)
    assert last_scan().offline is True


def test_a_scan_with_both_a_code_and_a_picked_id_is_decided_by_the_code(door):
    scanned, code = make_ticket(door.rally, name="Ana López")
    picked, _ = make_ticket(door.rally, name="Bo Li")
    verdict = check_in(code, door.scanner, nonce=nonce(), ticket_id=picked.id)
    assert (verdict.verdict, verdict.ticket["id"]) == ("admit", scanned.id)
    assert last_scan().rsvp_id == scanned.id
    out = check_out(code, door.scanner, nonce=nonce(), ticket_id=picked.id)
    assert (out.verdict, out.ticket["id"]) == ("exit", scanned.id)


def test_a_forged_code_for_another_rallys_ticket_is_refused_with_the_scans_flags(door, make_rally):
    elsewhere = make_rally(door.rally.campaign, capacity=None)
    _rsvp, code = make_ticket(elsewhere)
    forged = code[:-5] + ("A" if code[-5] != "A" else "B") + code[-4:]
    refused = check_in(forged, door.scanner, nonce=nonce())
    assert (refused.verdict, refused.reason) == ("invalid", "bad_signature")  # not "wrong rally": it is forged
    assert (refused.flags["offline"], refused.flags["conflict"]) == (False, False)
    assert last_scan().verdict == "invalid"
