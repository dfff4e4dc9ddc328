"""Frozen formats: a ticket code and a sealed signing key made today must read the same forever.

Door devices verify codes offline in JavaScript (static/js/door/codec.js signs nothing, it checks
Ed25519 over "RALLIES-TICKET-1" || rally id (4 bytes) || ticket id (6 bytes)), and databases hold
signing keys sealed under the KEK bound to their rally. Known-answer vectors pin both, so a change
to either format fails here instead of locking every printed ticket or stored key out.
"""

from __future__ import annotations

import base64

import pytest

from rallies.door.checkin import check_in
from rallies.extensions import db
from rallies.keys import sealing
from rallies.models import Rally
from rallies.rsvp.tickets import (
    InvalidCode,
    code_for,
    ensure_rally_keys,
    make_code,
    open_signing_key,
    parse_code,
    seal_signing_key,
    ticket_code,
    verify_code,
)
from tests.factories import at_door, campaign_of, make_ticket, nonce
from tests.stored import stored_rally

RAW_KEY = bytes(range(32))
#: make_code(RAW_KEY, rally 7, ticket 42), made once and never to change.
CODE_7_42 = ("RT1AAAAAAAAFLYORAQRDYLPRZRAU245KX5I7OTL2YMTOZNK3BPCJVBIB3DJNT2CAMP6A2MDOKLFTGZSKZL4DWATDGDUKIDUEVPZZ4O"
             "XG6RTOS46GQIM")
KEK = base64.b64encode(bytes(range(100, 132))).decode()
#: RAW_KEY sealed for rally 7 under KEK, made once.
SEALED_7 = base64.b64decode("Afvrxj5FybMEkgDBQ+bq94untlnjIoE+gxszOH3CB2GaOwl546mDO1dj/dqBp98d+TjQQ/z5kcBb9EkVXSX6AT4=")


def public_of(raw: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(raw).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_the_code_format_is_frozen():
    assert make_code(RAW_KEY, 7, 42) == CODE_7_42
    parsed = parse_code(CODE_7_42.lower())
    assert (parsed.ticket_id, len(parsed.signature)) == (42, 64)
    assert verify_code(public_of(RAW_KEY), 7, parsed)
    assert not verify_code(public_of(RAW_KEY), 8, parsed)


def test_no_public_key_verifies_nothing():
    parsed = parse_code(CODE_7_42)
    assert not verify_code(None, 7, parsed) and not verify_code(b"", 7, parsed)


def test_a_sealed_key_opens_for_its_rally_only(app_factory):
    app = app_factory(TICKET_KEK=KEK)
    with app.app_context():
        assert open_signing_key(7, SEALED_7) == RAW_KEY
        with pytest.raises(sealing.SealError):
            open_signing_key(8, SEALED_7)
        assert open_signing_key(9, seal_signing_key(9, RAW_KEY)) == RAW_KEY
        assert make_code(open_signing_key(7, SEALED_7), 7, 42) == code_for(7, SEALED_7, 42) == CODE_7_42


def test_signing_needs_a_key():
    with pytest.raises(ValueError, match="no signing key"):
        code_for(7, None, 42)
    with pytest.raises(ValueError, match="no signing key"):
        make_code(b"", 7, 42)


def test_keys_are_made_once_for_a_rally_even_before_it_has_an_id(app, make_user, make_rally):
    campaign = campaign_of(make_user())
    template = make_rally(campaign)
    rally = Rally(campaign_id=campaign.id, title="New", slug="new-rally", starts_at=template.starts_at,
                  ends_at=template.ends_at, timezone="America/Chicago")
    db.session.add(rally)
    ensure_rally_keys(rally)  # flushes for the id its key is bound to
    assert rally.id is not None and rally.signing_key and rally.public_key
    code = ticket_code(rally, 5)
    assert verify_code(rally.public_key, rally.id, parse_code(code))
    keys = (rally.signing_key, rally.public_key)
    ensure_rally_keys(rally)
    assert (rally.signing_key, rally.public_key) == keys
    db.session.rollback()


@pytest.mark.parametrize("missing", ["signing_key", "public_key"])
def test_half_a_key_pair_is_replaced_by_a_whole_one(app, make_user, make_rally, missing):
    rally = make_rally(campaign_of(make_user()))
    kept = getattr(rally, "public_key" if missing == "signing_key" else "signing_key")
    setattr(rally, missing, None)
    ensure_rally_keys(rally)
    assert rally.signing_key and rally.public_key
    assert getattr(rally, "public_key" if missing == "signing_key" else "signing_key") != kept
    assert verify_code(rally.public_key, rally.id, parse_code(ticket_code(rally, 5)))
    db.session.rollback()


@pytest.mark.parametrize(("length", "reason"), [(400, "malformed_code"), (401, "code_too_long")])
def test_scanned_text_is_too_long_only_past_the_limit(make_user, make_rally, length, reason):
    door = at_door(campaign_of(make_user()), capacity=None)
    make_ticket(door.rally)
    verdict = check_in("A" * length, door.scanner, nonce=nonce())
    assert (verdict.verdict, verdict.reason) == ("invalid", reason)
    assert stored_rally(door.rally.id).checked_in_people == 0


@pytest.mark.parametrize(("text", "why"), [("RT", "not a ticket code"), ("RT9", "unknown code version"),
                                           ("rt2", "unknown code version"), ("XT1", "not a ticket code")])
def test_a_shortest_code_of_another_version_is_told_apart_from_noise(text, why):
    """A code of "RT" and one version character is another version's code (the scanner says update), not noise."""
    with pytest.raises(InvalidCode) as err:
        parse_code(text)
    assert str(err.value) == why
