"""What a door scan answers: the verdicts, their reason codes and messages, and the errors that stop a scan.

A Verdict is the whole answer (admitted or refused); CheckinInputError is a request that cannot be
decided at all (a 4xx); VenueFull rolls an admission back to log a hold instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

ADMIT, ALREADY, WRONG_RALLY = "admit", "already", "wrong_rally"
CANCELLED, WAITLISTED, REVOKED, INVALID = "cancelled", "waitlisted", "revoked", "invalid"
UNCONFIRMED = "unconfirmed"
#: Inside now: the venue is at its safe capacity (admit no one); admitted to the overflow area instead;
#: the person left earlier and the rally allows no re-entry; an exit recorded.
VENUE_FULL, ADMIT_OVERFLOW, NO_REENTRY, EXIT = "venue_full", "admit_overflow", "no_reentry", "exit"
VERDICTS = (ADMIT, ALREADY, WRONG_RALLY, CANCELLED, WAITLISTED, UNCONFIRMED, REVOKED, INVALID, VENUE_FULL,
            ADMIT_OVERFLOW, NO_REENTRY, EXIT)
MESSAGES = {
    ADMIT: "Admit", ALREADY: "Already checked in", WRONG_RALLY: "Wrong rally", CANCELLED: "Cancelled ticket",
    WAITLISTED: "Waitlisted ticket", UNCONFIRMED: "RSVP not confirmed", REVOKED: "Revoked ticket", INVALID: "Not a valid ticket",
    VENUE_FULL: "VENUE FULL: HOLD", ADMIT_OVERFLOW: "ADMIT TO OVERFLOW", NO_REENTRY: "No re-entry", EXIT: "Exit",
}


class CheckinInputError(Exception):
    """The request itself is unusable (bad nonce, people, role): a 4xx, never a verdict."""

    def __init__(self, code: str, message: str, status: int = 422):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class VenueFull(Exception):
    """The people entering do not fit the venue's safe capacity nor its overflow area: roll back, log a hold."""


@dataclass
class Verdict:
    """The answer to one scan; ``to_dict`` is the JSON the scanner shows."""

    verdict: str
    reason: str
    ticket: dict | None = None
    admitted: int = 0
    previous: dict | None = None
    rally: dict | None = None
    scan_id: int | None = None
    flags: dict = field(default_factory=dict)
    replayed: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        return MESSAGES.get(self.verdict, self.verdict)

    def to_dict(self) -> dict:
        """The JSON body for this verdict."""
        body = {
            "verdict": self.verdict, "reason": self.reason, "message": self.message, "admitted": self.admitted,
            "ticket": self.ticket, "previous": self.previous, "rally": self.rally, "scan_id": self.scan_id,
            "flags": self.flags, "replayed": self.replayed,
        }
        body.update(self.extra)
        return body

    @classmethod
    def from_stored(cls, text: str) -> Verdict:
        """Rebuild the verdict stored for a nonce (marked as replayed)."""
        data = json.loads(text) if text else {"verdict": INVALID, "reason": "replayed"}
        known = {k: data.pop(k, None) for k in ("verdict", "reason", "ticket", "admitted", "previous", "rally",
                                                  "scan_id", "flags")}
        data.pop("message", None)
        data.pop("replayed", None)
        return cls(known["verdict"], known["reason"], known["ticket"], known["admitted"] or 0, known["previous"],
                   known["rally"], known["scan_id"], known["flags"] or {}, True, data)
