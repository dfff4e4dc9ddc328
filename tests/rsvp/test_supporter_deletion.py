"""Issue 9, item 11b: deleting a supporter scrubs every stored copy of their name and email, in one go.

The check is deliberately blunt: after deletion, no text column of any table holds the person's
name, door name ("First L.") or email, wherever a copy was made (RSVPs, walk-in RSVPs that share
the email, scan-log responses and notes, check-in undo reasons, outbox mail, the supporter row).
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from rallies.door import admissions, checkin
from rallies.extensions import db
from rallies.models import Checkin, Rsvp, ScanLog, Supporter, utcnow
from rallies.rsvp import supporters
from rallies.rsvp.tickets import ticket_code
from tests.factories import campaign_of, door_session, make_door, nonce
from tests.stored import stored_counts
from tests.web import rsvp_post

NAME, DOOR_NAME, EMAIL = "Zelda Quixote", "Zelda Q.", "zelda.quixote@example.org"


def _copies_left() -> list[str]:
    """Every (table.column, row) whose stored text still holds the person's name, door name or email."""
    db.session.expire_all()
    needles = [NAME.casefold(), DOOR_NAME.casefold(), EMAIL, "zelda"]
    found = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (sa.String, sa.Text, sa.JSON, sa.LargeBinary))]
        if not columns:
            continue
        for row in db.session.execute(sa.select(*columns)):
            for column, value in zip(columns, row, strict=True):
                if value is None:
                    continue
                if isinstance(value, bytes):
                    text = value.decode("latin-1")
                elif isinstance(value, str):
                    text = value
                else:
                    text = json.dumps(value)
                if any(n in text.casefold() for n in needles):
                    found.append(f"{table.name}.{column.name}: {text[:120]!r}")
    return found


@pytest.fixture
def owner(make_user):
    return make_user(email="owner@example.org")


@pytest.fixture
def campaign(owner):
    return campaign_of(owner)


def test_deleting_a_supporter_scrubs_scan_log_walkins_and_every_copy(app, client, login, owner, campaign,
                                                                     make_rally):
    # Both rallies are about to start, so their doors are open (walk-ins are taken only then).
    soon = utcnow() + timedelta(minutes=30)
    rally, other = make_rally(campaign, starts_at=soon), make_rally(campaign, starts_at=soon)
    assert rsvp_post(client, rally, name=NAME, email=EMAIL, phone="+13125550123", postal_code="60607").status_code == 303
    assert rsvp_post(client, rally, name="Stay Here", email="stay@example.org").status_code == 303
    rsvp = db.session.scalar(sa.select(Rsvp).where(Rsvp.email == EMAIL))
    stay = db.session.scalar(sa.select(Rsvp).where(Rsvp.email == "stay@example.org"))

    # Admitted at the door (the verdict with "Zelda Q." is stored in the scan log), undone with a
    # reason naming her, then admitted again; at the other rally she walks in with the same email.
    ctx, _secret, _link = door_session(make_door(rally), role="supervisor")
    assert checkin.check_in(ticket_code(rally, rsvp.id), ctx, nonce=nonce()).verdict == "admit"
    admissions.undo_checkin(ctx, rsvp_id=rsvp.id, reason=f"{NAME} scanned by mistake", nonce=nonce())
    assert checkin.check_in(ticket_code(rally, rsvp.id), ctx, nonce=nonce()).verdict == "admit"
    assert checkin.check_in(ticket_code(rally, stay.id), ctx, nonce=nonce()).verdict == "admit"
    other_ctx, _secret, _link = door_session(make_door(other))
    walkin = admissions.admit_walkin(other_ctx, name=NAME, email=EMAIL.upper(), nonce=nonce())
    assert walkin.verdict == "admit"
    assert _copies_left(), "the setup stored copies to scrub"
    before = (stored_counts(rally.id), stored_counts(other.id))
    admitted = db.session.scalar(sa.select(sa.func.sum(Checkin.people)).where(Checkin.undone_at.is_(None)))

    login(client, owner)
    person = db.session.scalar(sa.select(Supporter).where(Supporter.email == EMAIL))
    resp = client.post(f"/organize/campaigns/{campaign.id}/supporters/{person.id}/delete")
    assert resp.status_code == 303

    assert _copies_left() == []
    # Counts and the door's history stay true: only the personal data went.
    assert (stored_counts(rally.id), stored_counts(other.id)) == before
    assert db.session.scalar(sa.select(sa.func.sum(Checkin.people)).where(Checkin.undone_at.is_(None))) == admitted
    scans = db.session.scalars(sa.select(ScanLog).where(ScanLog.rsvp_id == rsvp.id, ScanLog.verdict == "admit")).all()
    assert len(scans) == 2 and all(json.loads(s.response)["ticket"]["name"] == "Deleted" for s in scans)
    kept = db.session.scalar(sa.select(ScanLog).where(ScanLog.rsvp_id == stay.id))
    assert json.loads(kept.response)["ticket"]["name"] == "Stay H.", "other people's scans are untouched"
    walkin_row = db.session.get(Rsvp, walkin.ticket["id"])
    assert (walkin_row.email, walkin_row.name, walkin_row.door_name) == (None, "", "Deleted")


def test_delete_person_is_one_transaction(app, campaign, make_rally, client, monkeypatch):
    """A failure half-way leaves every copy in place (nothing half-deleted)."""
    rally = make_rally(campaign)
    rsvp_post(client, rally, name=NAME, email=EMAIL)
    person = db.session.scalar(sa.select(Supporter).where(Supporter.email == EMAIL))

    def boom(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(supporters, "_scrub_scan_log", boom)
    with pytest.raises(RuntimeError):
        supporters.delete_person(person)
    db.session.expire_all()
    assert db.session.get(Supporter, person.id).email == EMAIL
    assert db.session.scalar(sa.select(Rsvp.name).where(Rsvp.supporter_id == person.id)) == NAME
