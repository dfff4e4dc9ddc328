"""The door scanner's own words, for static/js/door/scanner.js, in the door staff's language.

The page carries them as JSON (``<script type="application/json" id="i18n">``): the script reads them
by key and keeps the English as its fallback. ``{name}`` placeholders are filled in by the script.
"""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from ..dates import FORMAT_LOCALES

SCANNER_TEXTS = {
    # Verdict titles, by verdict.
    "title_admit": _l("Admit"),
    "title_already": _l("Already checked in"),
    "title_wrong_rally": _l("Wrong rally"),
    "title_cancelled": _l("Cancelled"),
    "title_waitlisted": _l("Waitlisted"),
    "title_unconfirmed": _l("Not confirmed"),
    "title_revoked": _l("Revoked"),
    "title_invalid": _l("Not a valid ticket"),
    "title_undo": _l("Undone"),
    "title_venue_full": _l("VENUE FULL: HOLD"),
    "title_admit_overflow": _l("ADMIT TO OVERFLOW"),
    "title_no_reentry": _l("No re-entry"),
    "title_exit": _l("Exit"),
    # Verdict details.
    "party_admit": _l("Party of {party}: admit {admitted}"),
    "still_to_come": _l("({remaining} still to come)"),
    "previous": _l("At {time}, {door}, by {device}"),
    "party_still_to_come": _l("({remaining} of the party still to come)"),
    "wrong_rally": _l("This ticket is for {title}"),
    "invalid": _l("Forged, altered or unreadable ({reason})"),
    "undo_detail": _l("{checked_in} of {party} now checked in"),
    "venue_full_detail": _l("Inside now: {inside} of {safe}. Admit no one until people leave."),
    "overflow_detail": _l("Send to {area}"),
    "exit_detail": _l("{left} left · {inside} of the party still inside"),
    "exit_unknown": _l("No entry known for this ticket: logged and flagged"),
    "no_reentry_detail": _l("This ticket left earlier; this rally allows no re-entry."),
    "override_reason": _l("Override reason (required)"),
    "inside_stale": _l("Count may be stale (synced {n} min ago)"),
    "decided_offline": _l("decided offline"),
    "override_flag": _l("OVERRIDE: let in while offline, not counted; reported"),
    "conflict_flag": _l("CONFLICT: admitted elsewhere too"),
    "over_capacity": _l("over capacity ({going} / {capacity})"),
    "capacity_reached": _l("CAPACITY REACHED"),
    # Verdict buttons and the undo prompt.
    "only_here": _l("Only {k} here now"),
    "override_admit": _l("Override: admit"),
    "undo_checkin": _l("Undo check-in"),
    "reason_required": _l("Reason (required)"),
    "reason_label": _l("Reason for undoing"),
    "confirm_undo": _l("Confirm undo"),
    # Network, queue and sync.
    "online": _l("online"),
    "offline": _l("offline"),
    "queued": _l("{n} queued"),
    "synced": _l("synced {time}"),
    "recent_offline": _l("(offline)"),
    "offline_retry": _l("Offline: try again when the network is back."),
    "offline_undo": _l("Offline: undo needs the network."),
    "went_wrong": _l("Something went wrong."),
    "door_closed": _l("This device can no longer scan here."),
    # Counters, search and walk-ins.
    "walkin_capacity": _l("Going {going} of capacity {capacity}. Walk-ins take only the places the organizer allows."),
    "conflicts": _l("{n} offline conflicts or overrides to check in the report."),
    "no_match": _l("No match."),
    "search_party": _l("party {party}"),
    "search_inside": _l("{n} in"),
    "status_going": _l("going"),
    "status_waitlisted": _l("waitlisted"),
    "status_cancelled": _l("cancelled"),
    "status_unconfirmed": _l("not confirmed yet"),
    "ticket_number": _l("Ticket #{id}"),
    # The camera.
    "start_camera": _l("Start camera"),
    "stop_camera": _l("Stop camera"),
    "camera_https": _l("The camera needs HTTPS. Use a scanner gun or type the code below."),
    "camera_unavailable": _l("Camera unavailable ({error}). Use a scanner gun or type the code."),
}


def scanner_texts() -> dict[str, str]:
    """The scanner's words in the request's language, and the locale its clock is written in (BCP 47)."""
    texts = {key: str(text) for key, text in SCANNER_TEXTS.items()}
    language = str(get_locale() or "en")
    texts["date_locale"] = FORMAT_LOCALES.get(language, language).replace("_", "-")
    return texts
