"""The SQL guards of the conditional UPDATEs: the database decides, not a row read a moment earlier.

A scan admits with ``UPDATE ... WHERE status = 'going' AND checked_in_people + n <= guests + 1``
(a good code scanned online tries its first admission before any read, and reads the ticket when
that does not match). Between a read and the UPDATE another door may have admitted the party or
the ticket may have been cancelled. Threads make that interleaving only
sometimes; here the read is made stale on purpose, so only the UPDATE's own WHERE can refuse.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from rallies.database import atomic
from rallies.door import decision, ticket_reads
from rallies.door.admissions import admit_walkin
from rallies.door.checkin import check_in
from rallies.door.verdicts import CheckinInputError
from rallies.extensions import db
from rallies.models import Rsvp, utcnow
from tests.factories import at_door, campaign_of, make_ticket, nonce
from tests.stored import checkin_people, stored_rally, stored_rsvp


@pytest.fixture
def door(make_user, make_rally):
    return at_door(campaign_of(make_user()), capacity=None, max_guests=3)


@pytest.fixture
def stale_read(monkeypatch):
    """stale_read(**fields): the scan's ticket read returns these old values (once); the database has moved on."""

    def arm(**fields):
        real = ticket_reads.ticket_row
        used = []

        def read(rsvp_id):
            ticket = real(rsvp_id)
            if not used:
                used.append(True)
                ticket = SimpleNamespace(**{**ticket._asdict(), **fields})
            return ticket

        for module in (decision, ticket_reads):  # the decision's reads and the scanned code's
            monkeypatch.setattr(module, "ticket_row", read)

    return arm


def test_a_party_admitted_meanwhile_is_not_admitted_again(door, stale_read):
    rsvp, code = make_ticket(door.rally, guests=2)
    assert check_in(code, door.scanner, nonce=nonce()).admitted == 3
    stale_read(checked_in_people=0)
    verdict = check_in(code, door.scanner, nonce=nonce())
    assert (verdict.verdict, verdict.reason, verdict.admitted) == ("already", "already_checked_in", 0)
    assert stored_rsvp(rsvp.id).checked_in_people == 3
    assert stored_rally(door.rally.id).checked_in_people == 3
    assert checkin_people(door.rally.id) == 3


def test_part_of_a_party_admitted_meanwhile_caps_the_next_admission(door, stale_read):
    rsvp, code = make_ticket(door.rally, guests=2)
    check_in(code, door.scanner, nonce=nonce(), people=2)
    stale_read(checked_in_people=0)
    verdict = check_in(code, door.scanner, nonce=nonce(), people=3)
    assert (verdict.verdict, verdict.reason) == ("already", "party_exceeded")
    assert stored_rsvp(rsvp.id).checked_in_people == 2


def test_a_ticket_cancelled_meanwhile_is_refused(door, stale_read):
    rsvp, code = make_ticket(door.rally, status="cancelled")
    stale_read(status="going")
    verdict = check_in(code, door.scanner, nonce=nonce())
    assert (verdict.verdict, verdict.admitted) == ("cancelled", 0)
    assert stored_rsvp(rsvp.id).checked_in_people == 0
    assert stored_rally(door.rally.id).checked_in_people == 0


def test_a_forced_admission_is_still_capped_by_the_party(door, stale_read):
    rsvp, code = make_ticket(door.rally, guests=1, status="waitlisted")
    check_in(code, door.supervisor, nonce=nonce(), force=True)
    stale_read(checked_in_people=0)
    verdict = check_in(code, door.supervisor, nonce=nonce(), force=True)
    assert verdict.admitted == 0
    assert stored_rsvp(rsvp.id).checked_in_people == 2


def test_an_upload_of_a_party_admitted_meanwhile_counts_no_one_more(door, stale_read):
    rsvp, code = make_ticket(door.rally, guests=2)
    check_in(code, door.scanner, nonce=nonce())
    stale_read(checked_in_people=0)
    verdict = check_in(code, door.scanner, nonce=nonce(), offline=True, online=False, device_verdict="admit",
                       client_time=utcnow() - timedelta(minutes=2), people=3)
    assert (verdict.verdict, verdict.admitted, verdict.flags["conflict"]) == ("admit", 0, True)
    assert stored_rsvp(rsvp.id).checked_in_people == 3
    assert stored_rally(door.rally.id).checked_in_people == 3


def test_walkins_fill_only_free_places_without_a_walkin_limit(make_user, make_rally):
    door = at_door(campaign_of(make_user()), capacity=3, max_guests=3)
    with atomic():
        stored_rally(door.rally.id).going_people = 2
    verdict = admit_walkin(door.scanner, name="Walk In", nonce=nonce())
    assert verdict.admitted == 1
    with pytest.raises(CheckinInputError) as refused:
        admit_walkin(door.scanner, name="Walk Two", nonce=nonce())
    assert refused.value.code == "walkin_limit"
    r = stored_rally(door.rally.id)
    assert (r.going_people, r.walkin_people, r.checked_in_people) == (3, 1, 1)
    walkins = sa.select(sa.func.count()).select_from(Rsvp).where(Rsvp.rally_id == door.rally.id, Rsvp.is_walkin)
    assert db.session.scalar(walkins) == 1


def test_walkins_within_the_organizers_limit_may_go_over_capacity(make_user, make_rally):
    door = at_door(campaign_of(make_user()), capacity=1, walkin_limit=3, max_guests=3)
    with atomic():
        stored_rally(door.rally.id).going_people = 1
    first = admit_walkin(door.scanner, name="Walk In", nonce=nonce(), guests=2)
    assert first.admitted == 3 and first.extra["over_capacity"] is True
    with pytest.raises(CheckinInputError):
        admit_walkin(door.scanner, name="Walk Two", nonce=nonce())
    r = stored_rally(door.rally.id)
    assert (r.going_people, r.walkin_people, r.checked_in_people) == (4, 3, 3)
