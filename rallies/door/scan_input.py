"""A scan's input, checked: nonce and party size, the device clock, and the scan log row it starts.

Device clocks that are implausible (far from the server's, before the device's session, outside
the door window) are flagged, and then server time is used.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from ..models import utcnow
from .doors import DoorContext
from .verdicts import CheckinInputError

#: Online scans: the device clock may differ from the server's by this much before it is flagged.
CLOCK_SKEW = timedelta(minutes=5)
#: Offline scans may be uploaded this long after they happened.
OFFLINE_MAX_AGE = timedelta(hours=48)
MAX_PARTY = 100
_NONCE = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")


def check_nonce(nonce) -> str:
    """The nonce if well-formed (8-64 of A-Z a-z 0-9 _ . : -), else CheckinInputError."""
    if not isinstance(nonce, str) or not _NONCE.match(nonce):
        raise CheckinInputError("invalid_nonce", "Each scan needs a nonce of 8 to 64 letters, digits, '-' or '_'.")
    return nonce


def check_people(people) -> int | None:
    """None (the whole remaining party) or a count from 1 to MAX_PARTY."""
    if people is None:
        return None
    if isinstance(people, bool) or not isinstance(people, int) or not 1 <= people <= MAX_PARTY:
        raise CheckinInputError("invalid_people", f"people must be a whole number from 1 to {MAX_PARTY}.")
    return people


def clock_flag(client_time: datetime | None, received: datetime, offline: bool, ctx: DoorContext | None = None) -> bool:
    """True when the device clock is implausible for this scan (accepted, but flagged, and never trusted).

    Implausible: ahead of the server; behind it by more than the skew (online) or OFFLINE_MAX_AGE
    (offline); before this device's session began; or, offline, outside the rally's door window.
    """
    if client_time is None:
        return False
    if client_time > received + CLOCK_SKEW:
        return True
    if client_time < received - (OFFLINE_MAX_AGE if offline else CLOCK_SKEW):
        return True
    if ctx is not None and ctx.session_started is not None and client_time < ctx.session_started - CLOCK_SKEW:
        return True
    return bool(offline and ctx is not None and not ctx.in_window(client_time))


def made_online(client_time: datetime | None, received: datetime, online: bool | None = None) -> bool:
    """Whether an uploaded scan was made while the device was online (it then gets the online verdict).

    online: what the device says (True: sent while online; False: decided offline). Unsaid, a
    client_time within the clock skew of now means online. Claiming "offline" wins nothing: the
    offline decision counts no one an online scan would refuse, and flags the rest.
    """
    if online is not None:
        return online
    return client_time is not None and abs(received - client_time) <= CLOCK_SKEW


def admission_time(client_time: datetime | None, received: datetime, offline: bool, flagged: bool) -> datetime:
    """When the people came in: the device's time only for a plausible offline scan, else the server's."""
    return client_time if (offline and client_time and not flagged) else received


def log_code(code) -> str:
    """What was scanned, made safe to store: printable ASCII, cut to 200 characters."""
    if isinstance(code, bytes):
        code = code.decode("latin-1")
    if not isinstance(code, str):
        return ""
    code = code[:200]
    if code.isascii() and code.isprintable():
        return code
    return "".join(ch if " " <= ch <= "~" else "?" for ch in code)


def new_scan(code, ctx: DoorContext, *, nonce: str, client_time: datetime | None, force: bool, offline: bool,
             received_at: datetime | None = None, online: bool | None = None) -> tuple[dict, dict, datetime]:
    """The scan log row, the verdict flags and the admission time for one scan (checked input)."""
    nonce = check_nonce(nonce)
    if force and not ctx.is_supervisor:
        raise CheckinInputError("forbidden", "Only a supervisor can override a refusal.", 403)
    received = received_at or utcnow()
    if offline and made_online(client_time, received, online):
        offline = False
    flagged = clock_flag(client_time, received, offline, ctx)
    scan = {
        "rally_id": ctx.rally_id, "door_id": ctx.door_id, "session_id": ctx.session_id,
        "device_name": ctx.device_name, "nonce": nonce, "code": log_code(code), "forced": bool(force),
        "offline": bool(offline), "clock_flagged": flagged, "client_time": client_time, "received_at": received,
    }
    flags = {"clock": flagged, "offline": bool(offline), "forced": bool(force), "conflict": False}
    return scan, flags, admission_time(client_time, received, offline, flagged)
