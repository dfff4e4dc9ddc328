"""Which rallies take an RSVP, from whom, and with how many guests (rsvp/rsvps.py create_or_update_rsvp).

Supporters RSVP only to a public rally that is neither cancelled nor over. An organizer may still add
someone to a draft or finished rally (a list fixed up after the fact), never to a cancelled one. Nothing
is written when the answer is no.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from rallies.extensions import db
from rallies.models import Rsvp
from rallies.models.types import utcnow
from rallies.rsvp.rsvps import RsvpClosed, RsvpError, RsvpInput, create_or_update_rsvp
from tests.stored import outbox, stored_rally

ANA = dict(name="Ana López", email="ana@example.org")


def rsvp_rows(rally) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Rsvp).where(Rsvp.rally_id == rally.id))


def over(make_rally, campaign):
    start = utcnow() - timedelta(hours=5)
    return make_rally(campaign, starts_at=start)


@pytest.mark.parametrize("kind, says", [
    ("cancelled", "cancelled"), ("draft", "not open for RSVPs yet"), ("over", "is over")])
def test_a_supporter_cannot_rsvp_to_a_closed_rally_and_nothing_is_written(make_rally, campaign, kind, says):
    rally = {"cancelled": lambda: make_rally(campaign, status="cancelled"),
             "draft": lambda: make_rally(campaign, visibility="draft"),
             "over": lambda: over(make_rally, campaign)}[kind]()
    with pytest.raises(RsvpClosed, match=says):
        create_or_update_rsvp(rally, RsvpInput(**ANA))
    assert (rsvp_rows(rally), outbox()) == (0, [])
    assert stored_rally(rally.id).going_people == 0


@pytest.mark.parametrize("kind", ["draft", "over"])
def test_an_organizer_may_add_to_a_draft_or_finished_rally(make_rally, campaign, kind):
    rally = make_rally(campaign, visibility="draft") if kind == "draft" else over(make_rally, campaign)
    res = create_or_update_rsvp(rally, RsvpInput(**ANA), by_organizer=True)
    assert res.outcome == "going"
    assert rsvp_rows(rally) == 1


def test_an_organizer_cannot_add_to_a_cancelled_rally(make_rally, campaign):
    rally = make_rally(campaign, status="cancelled")
    with pytest.raises(RsvpClosed, match="cancelled"):
        create_or_update_rsvp(rally, RsvpInput(**ANA), by_organizer=True)
    assert rsvp_rows(rally) == 0


def test_an_organizer_add_needs_no_email_confirmation(make_rally, campaign):
    rally = make_rally(campaign, capacity=5, confirm_by_email=True)
    assert create_or_update_rsvp(rally, RsvpInput(**ANA), by_organizer=True).outcome == "going"
    assert create_or_update_rsvp(rally, RsvpInput(name="Bo", email="bo@example.org")).outcome == "unconfirmed"
    assert stored_rally(rally.id).going_people == 1


@pytest.mark.parametrize("guests", [-1, 4])
def test_guests_outside_the_rallys_limit_are_refused_with_the_limit(make_rally, campaign, guests):
    rally = make_rally(campaign, max_guests=3)
    with pytest.raises(RsvpError, match="between 0 and 3 guests") as refused:
        create_or_update_rsvp(rally, RsvpInput(guests=guests, **ANA))
    assert not isinstance(refused.value, RsvpClosed)
    assert rsvp_rows(rally) == 0


def test_the_rallys_limit_itself_is_allowed(make_rally, campaign):
    rally = make_rally(campaign, max_guests=3, capacity=10)
    assert create_or_update_rsvp(rally, RsvpInput(guests=3, **ANA)).outcome == "going"
    assert stored_rally(rally.id).going_people == 4


def test_a_rally_is_over_from_the_moment_it_ends(make_rally, campaign):
    from rallies.rsvp.rsvps import rally_open_problem

    rally = make_rally(campaign)
    assert rally_open_problem(rally, now=rally.ends_at - timedelta(microseconds=1)) is None
    assert "over" in rally_open_problem(rally, now=rally.ends_at)
