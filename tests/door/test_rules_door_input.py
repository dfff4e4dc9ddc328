"""What a door device may send for a walk-in, and the words door staff read when it is refused.

A walk-in needs a name; an email, if given, must look like one; guests are a whole number from 0 to
MAX_WALKIN_GUESTS (a JSON true is not 1). Every refusal is a CheckinInputError with its own code and
status, and its message reaches door staff in their language: each message is a catalog msgid, so
changing its wording without the catalog leaves Spanish-speaking staff reading English.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from rallies.door.admissions import MAX_WALKIN_GUESTS, admit_walkin, reduce_admission, undo_checkin
from rallies.door.checkin import check_in
from rallies.door.verdicts import CheckinInputError
from rallies.models import utcnow
from tests.factories import at_door, campaign_of, make_ticket, nonce, quick_rsvp
from tests.stored import stored_rsvp

SPANISH_PO = Path(__file__).resolve().parents[2] / "rallies" / "translations" / "es" / "LC_MESSAGES" / "messages.po"


def _spanish() -> dict[str, str]:
    with SPANISH_PO.open("rb") as po:
        return {m.id: m.string for m in read_po(po) if m.id and isinstance(m.id, str)}


@pytest.fixture
def door(make_user):
    return at_door(campaign_of(make_user()), capacity=None, max_guests=5)


def _error(call) -> CheckinInputError:
    with pytest.raises(CheckinInputError) as err:
        call()
    return err.value


@pytest.mark.parametrize("name", ["", "   ", "\t\n", None])
def test_a_walkin_needs_a_name(door, name):
    e = _error(lambda: admit_walkin(door.scanner, name=name, nonce=nonce()))
    assert (e.code, e.status, e.message) == ("invalid_name", 422, "Enter the walk-in's name.")


@pytest.mark.parametrize("email", ["ana", "ana example.org", "ana @example.org"])
def test_a_walkin_email_must_look_like_one(door, email):
    e = _error(lambda: admit_walkin(door.scanner, name="Ana", email=email, nonce=nonce()))
    assert (e.code, e.status, e.message) == ("invalid_email", 422, "Enter a valid email, or leave it empty.")


@pytest.mark.parametrize("guests", [True, False, -1, MAX_WALKIN_GUESTS + 1, "2", 2.0, None])
def test_walkin_guests_are_a_whole_number_in_range(door, guests):
    e = _error(lambda: admit_walkin(door.scanner, name="Ana", nonce=nonce(), guests=guests))
    assert (e.code, e.status) == ("invalid_guests", 422)
    assert e.message == f"Guests must be a whole number from 0 to {MAX_WALKIN_GUESTS}."


@pytest.mark.parametrize("guests", [0, MAX_WALKIN_GUESTS])
def test_walkin_guests_at_the_bounds_are_admitted(door, guests):
    assert admit_walkin(door.scanner, name="Ana", nonce=nonce(), guests=guests).admitted == guests + 1


def test_a_walkin_postal_code_is_trimmed_and_cut_to_its_column(door):
    verdict = admit_walkin(door.scanner, name="Ana", nonce=nonce(), postal_code=" " + "9" * 30 + " ")
    assert stored_rsvp(verdict.ticket["id"]).postal_code == "9" * 20


def _refusals(door) -> list:
    """(call, code, English message) for every refusal door staff can meet."""
    quick_rsvp(door.rally, email="taken@example.org")
    ticket, code = make_ticket(door.rally)
    admitted = check_in(code, door.scanner, nonce=nonce())
    return [
        (lambda: admit_walkin(door.scanner, name=" ", nonce=nonce()), "invalid_name", "Enter the walk-in's name."),
        (lambda: admit_walkin(door.scanner, name="A", email="x", nonce=nonce()), "invalid_email",
         "Enter a valid email, or leave it empty."),
        (lambda: admit_walkin(door.scanner, name="A", guests=-1, nonce=nonce()), "invalid_guests",
         "Guests must be a whole number from 0 to %(num)s."),
        (lambda: admit_walkin(door.scanner, name="A", email="taken@example.org", nonce=nonce()), "already_registered",
         None),
        (lambda: undo_checkin(door.scanner, rsvp_id=ticket.id, reason="x", nonce=nonce()), "forbidden",
         "Only a supervisor can undo a check-in."),
        (lambda: undo_checkin(door.supervisor, rsvp_id=ticket.id, reason=" ", nonce=nonce()), "reason_required",
         "Say why the check-in is undone."),
        (lambda: undo_checkin(door.supervisor, rsvp_id=0, reason="x", nonce=nonce()), "invalid_ticket_id",
         "That is not a ticket of this rally."),
        (lambda: reduce_admission(door.scanner, scan_id=0, keep=1, nonce=nonce()), "invalid_scan_id",
         "That is not a scan of this door."),
        (lambda: reduce_admission(door.scanner, scan_id=admitted.scan_id, keep=0, nonce=nonce()), "invalid_people",
         "Keep at least 1 person (undo the whole check-in instead)."),
        (lambda: reduce_admission(door.scanner, scan_id=admitted.scan_id, keep=5, nonce=nonce()), "invalid_people",
         "That is not fewer people than were admitted."),
    ]


def test_every_refusal_reaches_door_staff_in_spanish(door):
    spanish = _spanish()
    for call, code, msgid in _refusals(door):
        english = _error(call)
        with force_locale("es"):
            e = _error(call)
        assert e.code == english.code == code
        assert e.message != english.message, f"{code}: not translated"
        if msgid is not None:
            assert spanish[msgid], f"{code}: no Spanish for {msgid!r}"
            assert e.message == spanish[msgid].replace("%(num)s", str(MAX_WALKIN_GUESTS))
            assert english.message == msgid.replace("%(num)s", str(MAX_WALKIN_GUESTS))


def test_an_upload_without_an_online_flag_is_online_when_its_time_is_now(door):
    """A queued walk-in whose device time is within the clock skew of now was made online: no offline flag."""
    now = utcnow().replace(microsecond=0)
    verdict = admit_walkin(door.scanner, name="Just Now", nonce=nonce(), client_time=now, offline=True)
    assert verdict.flags["offline"] is False


def test_an_upload_without_an_online_flag_is_offline_when_its_time_is_past(door):
    scanner = dataclasses.replace(door.scanner, session_started=utcnow() - timedelta(hours=3))
    earlier = (utcnow() - timedelta(minutes=20)).replace(microsecond=0)
    verdict = admit_walkin(scanner, name="Earlier", nonce=nonce(), client_time=earlier, offline=True)
    assert verdict.flags["offline"] is True
    assert admit_walkin(scanner, name="Said online", nonce=nonce(), client_time=earlier, offline=True,
                        online=True).flags["offline"] is False


def test_a_walkin_row_holds_its_mailbox_key_and_times(door):
    """The walk-in's email is keyed like an RSVP's (so the same mailbox cannot RSVP again), with no phone,
    and its status and creation times are the scan's (not each a default read a moment later)."""
    verdict = admit_walkin(door.scanner, name="Walk In", email="Walk.In+door@Example.org", nonce=nonce())
    stored = stored_rsvp(verdict.ticket["id"])
    assert (stored.email_key, stored.phone) == ("walk.in@example.org", "")
    assert stored.status_at == stored.created_at  # both the scan's time, not a later default
    assert abs((utcnow() - stored.created_at).total_seconds()) < 60
    anonymous = stored_rsvp(admit_walkin(door.scanner, name="No Mail", nonce=nonce()).ticket["id"])
    assert (anonymous.email, anonymous.email_key) == (None, None)


@pytest.mark.parametrize("scanned, logged", [
    ("RT1 ~ABC", "RT1 ~ABC"),  # printable ASCII is kept as scanned, space and tilde included
    ("RT1\x1bABC ~", "RT1?ABC ~"),  # a control character (a keyboard wedge's escape) becomes "?"
    ("RT1éABC", "RT1?ABC"),  # so does anything outside ASCII
    (b"RT1\xffA", "RT1?A"),
    ("A" * 300, "A" * 200),
    (None, ""), (12345, ""),  # not text: nothing to log
])
def test_what_was_scanned_is_logged_printable_and_cut(scanned, logged):
    from rallies.door.scan_input import log_code

    assert log_code(scanned) == logged
