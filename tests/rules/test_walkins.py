"""A walk-in as the door records it: the name and email cut to their columns, nothing invented, online."""

from __future__ import annotations

import pytest
from conftest import campaign_of
from rulekit import at_door, nonce, row

from rallies.services.admissions import admit_walkin


@pytest.fixture
def door(make_user, make_rally):
    return at_door(make_rally, campaign_of(make_user()), capacity=None, max_guests=5)


def test_a_walkin_is_stored_as_given_within_the_columns(door):
    name = "Ana " + "M" * 200
    email = "a" * 250 + "@example.org"
    verdict = admit_walkin(door.scanner, name=f"  {name}  ", email=email, nonce=nonce())
    stored = row(verdict.ticket["id"])
    assert stored.name == name[:120] and len(stored.name) == 120
    assert stored.email == email[:254]
    assert stored.postal_code == "" and stored.is_walkin and stored.status == "going"


def test_a_walkin_without_a_flag_is_an_online_admission(door):
    verdict = admit_walkin(door.scanner, name="Walk In", nonce=nonce())
    assert verdict.admitted == 1 and verdict.flags["offline"] is False
