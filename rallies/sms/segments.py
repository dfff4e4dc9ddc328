"""What an SMS costs: its encoding and number of segments (3GPP TS 23.038, TS 23.040).

Text that fits the GSM 03.38 alphabet goes as GSM-7: 160 characters in one segment, 153 per segment
once split (the rest carries the concatenation header); the extension characters (``{}[]~|^€\\``)
take two. Anything else (one "ñ" is fine, one "ó" or emoji is not) turns the whole message into
UCS-2: 70 in one, 67 per segment, and a character outside the BMP takes two units.
"""

from __future__ import annotations

import math
from typing import NamedTuple

_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = set("\f^{}\\[~]|€")


class Cost(NamedTuple):
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or 16-bit code units (UCS-2)
    segments: int


def is_gsm7(text: str) -> bool:
    return all(ch in _GSM_BASIC or ch in _GSM_EXTENSION for ch in text)


def cost(text: str) -> Cost:
    """Encoding, length in units and segments of one message (0 segments for empty text)."""
    if is_gsm7(text):
        units = sum(2 if ch in _GSM_EXTENSION else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
        single, multi, encoding = 70, 67, "UCS-2"
    if units == 0:
        return Cost(encoding, 0, 0)
    return Cost(encoding, units, 1 if units <= single else math.ceil(units / multi))


def total_segments(text: str, recipients: int) -> int:
    """Segments billed for sending ``text`` to ``recipients`` people (what a compose page shows before sending)."""
    return max(0, recipients) * cost(text).segments
