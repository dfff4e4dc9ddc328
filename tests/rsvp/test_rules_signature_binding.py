"""Wrong rally and signature binding: a code admits only its own ticket at its own rally."""

from __future__ import annotations

import base64

import pytest

from rallies.door.checkin import check_in
from rallies.rsvp.tickets import PREFIX, TICKET_ID_BYTES, make_code, open_signing_key, parse_code, ticket_code
from tests.factories import at_door, campaign_of, make_ticket, nonce
from tests.stored import scan_count, stored_rally, stored_rsvp

#: The flags of an online scan that nothing was special about.
ONLINE_FLAGS = {"clock": False, "offline": False, "forced": False, "conflict": False}


@pytest.fixture
def two(make_user, make_rally):
    campaign = campaign_of(make_user())
    return at_door(campaign, capacity=None), at_door(campaign, capacity=None)


def raw_key(rally_id: int) -> bytes:
    """A rally's private key, opened with the KEK (the database holds it sealed)."""
    return open_signing_key(rally_id, stored_rally(rally_id).signing_key)


def encode(ticket_id: int, signature: bytes) -> str:
    payload = ticket_id.to_bytes(TICKET_ID_BYTES, "big") + signature
    return PREFIX + base64.b32encode(payload).decode("ascii").rstrip("=")


def test_a_ticket_of_another_rally_is_wrong_rally_and_counts_nowhere(two):
    x, y = two
    rsvp, code = make_ticket(y.rally)
    verdict = check_in(code, x.scanner, nonce=nonce())
    assert (verdict.verdict, verdict.reason, verdict.admitted) == ("wrong_rally", "wrong_rally", 0)
    stored_y = stored_rally(y.rally.id)
    assert verdict.rally == {"id": y.rally.id, "title": stored_y.title, "starts_at": stored_y.starts_at.isoformat()}
    assert verdict.flags == ONLINE_FLAGS
    assert stored_rsvp(rsvp.id).checked_in_people == 0
    assert stored_rally(x.rally.id).checked_in_people == 0 == stored_rally(y.rally.id).checked_in_people


def test_signature_of_ticket_a_cannot_admit_ticket_b(two):
    x, _y = two
    a, code_a = make_ticket(x.rally)
    b, _code_b = make_ticket(x.rally)
    swapped = encode(b.id, parse_code(code_a).signature)
    verdict = check_in(swapped, x.scanner, nonce=nonce())
    assert (verdict.verdict, verdict.reason) == ("invalid", "bad_signature")
    assert stored_rsvp(b.id).checked_in_people == 0 and stored_rsvp(a.id).checked_in_people == 0


def test_a_code_signed_for_rally_y_cannot_admit_at_rally_x(two):
    x, y = two
    ticket, _code = make_ticket(x.rally)
    # Rally Y's key, and the message naming rally X: still not X's signature.
    forged = make_code(raw_key(y.rally.id), x.rally.id, ticket.id)
    verdict = check_in(forged, x.scanner, nonce=nonce())
    assert (verdict.verdict, verdict.reason) == ("invalid", "bad_signature")
    # X's key, but a message naming rally Y: the signature binds the rally id.
    rebound = make_code(raw_key(x.rally.id), y.rally.id, ticket.id)
    verdict = check_in(rebound, x.scanner, nonce=nonce())
    assert (verdict.verdict, verdict.reason) == ("invalid", "bad_signature")
    assert stored_rsvp(ticket.id).checked_in_people == 0


def test_a_code_of_rally_x_forged_for_a_ticket_of_rally_y(two):
    x, y = two
    theirs, _code = make_ticket(y.rally)
    forged = make_code(raw_key(x.rally.id), x.rally.id, theirs.id)
    verdict = check_in(forged, x.scanner, nonce=nonce())
    assert (verdict.verdict, verdict.reason) == ("invalid", "bad_signature")
    assert (verdict.ticket, verdict.flags) == (None, ONLINE_FLAGS)
    assert stored_rsvp(theirs.id).checked_in_people == 0


@pytest.mark.parametrize("byte", [0, 31, 63])
def test_a_tampered_signature_is_invalid(two, byte):
    x, _y = two
    ticket, code = make_ticket(x.rally)
    signature = bytearray(parse_code(code).signature)
    signature[byte] ^= 0x01
    verdict = check_in(encode(ticket.id, bytes(signature)), x.scanner, nonce=nonce())
    assert (verdict.verdict, verdict.reason) == ("invalid", "bad_signature")
    assert stored_rsvp(ticket.id).checked_in_people == 0
    assert check_in(code, x.scanner, nonce=nonce()).verdict == "admit"  # the real code still works


def test_a_deleted_ticket_with_a_good_signature_is_revoked(two):
    x, _y = two
    ghost_id = 999_999
    code = ticket_code(stored_rally(x.rally.id), ghost_id)
    verdict = check_in(code, x.scanner, nonce=nonce())
    assert (verdict.verdict, verdict.reason) == ("revoked", "ticket_deleted")
    assert (verdict.ticket, verdict.flags) == ({"id": ghost_id}, ONLINE_FLAGS)
    forged = make_code(raw_key(_y.rally.id), x.rally.id, ghost_id)
    assert check_in(forged, x.scanner, nonce=nonce()).reason == "unknown_ticket"


def test_a_forced_scan_of_a_deleted_or_unknown_ticket_is_refused_all_the_same(two):
    x, y = two
    ghost_id = 999_999
    forced = dict(ONLINE_FLAGS, forced=True)
    deleted = check_in(ticket_code(stored_rally(x.rally.id), ghost_id), x.supervisor, nonce=nonce(), force=True)
    assert (deleted.verdict, deleted.reason, deleted.ticket, deleted.flags) == (
        "revoked", "ticket_deleted", {"id": ghost_id}, forced)
    unknown = check_in(make_code(raw_key(y.rally.id), x.rally.id, ghost_id), x.supervisor, nonce=nonce(), force=True)
    assert (unknown.verdict, unknown.reason, unknown.flags) == ("invalid", "unknown_ticket", forced)
    theirs, _code = make_ticket(y.rally)
    forged = check_in(make_code(raw_key(x.rally.id), x.rally.id, theirs.id), x.supervisor, nonce=nonce(), force=True)
    assert (forged.verdict, forged.reason, forged.flags) == ("invalid", "bad_signature", forced)
    assert stored_rsvp(theirs.id).checked_in_people == 0
    assert scan_count(x.rally.id) == 3
