"""SMS segment counting: GSM-7 against UCS-2 (one accented letter doubles the cost)."""

from __future__ import annotations

import pytest

from rallies.sms.segments import cost


@pytest.mark.parametrize(("text", "encoding", "units", "segments"), [
    ("", "GSM-7", 0, 0),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("€" * 80, "GSM-7", 160, 1),  # extension characters take two septets
    ("{" * 81, "GSM-7", 162, 2),
    ("Mañana a las 5, puertas: ¿listos?", "GSM-7", 33, 1),  # ñ ¿ are in the GSM alphabet
    ("a" * 70 + "ó", "UCS-2", 71, 2),  # one ó turns all of it into UCS-2
    ("ó" * 70, "UCS-2", 70, 1),
    ("ó" * 134, "UCS-2", 134, 2),
    ("ó" * 135, "UCS-2", 135, 3),
    ("🎉" * 35, "UCS-2", 70, 1),  # outside the BMP: a surrogate pair each
])
def test_cost(text, encoding, units, segments):
    assert cost(text) == (encoding, units, segments)


def test_one_accent_doubles_a_full_message():
    plain = "Doors open at 5pm at the Riverside Arena. Bring water, no bags. See you there! " * 2
    assert cost(plain[:160]).segments == 1
    assert cost(plain[:159] + "í").segments == 3
