"""What a supporter's ticket link and a repeat RSVP may change: confirming or rejoining goes through the
capacity decision of an open rally, a cancelled RSVP changes no party, and a repeat resends the link to
that mailbox alone, once per the configured window."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from rallies.database import atomic
from rallies.extensions import db
from rallies.models import Rally
from rallies.rsvp import rsvps
from rallies.rsvp.notices import SUBJECTS
from tests.stored import outbox, stored_rally, stored_rsvp


def ana(rally, **fields):
    return rsvps.create_or_update_rsvp(rally, rsvps.RsvpInput(name="Ana López", email="ana@example.org", **fields))


def close(rally, **values) -> None:
    with atomic():
        db.session.execute(sa.update(Rally).where(Rally.id == rally.id).values(**values))
    db.session.expire_all()


def test_confirming_queues_the_ticket_as_going(make_rally, campaign):
    rally = make_rally(campaign, capacity=5, confirm_by_email=True)
    pending = ana(rally)
    rsvps.take_place(stored_rsvp(pending.rsvp_id))
    last = outbox(to="ana@example.org")[-1]
    assert (stored_rsvp(pending.rsvp_id).status, last.render_params["reason"]) == ("going", "going")
    assert last.subject == SUBJECTS["going"].format(title=rally.title)


def test_confirming_or_changing_the_party_at_a_closed_rally_is_refused(make_rally, campaign):
    rally = make_rally(campaign, capacity=5, confirm_by_email=True)
    pending = ana(rally)
    close(rally, ends_at=rally.starts_at - timedelta(days=30), starts_at=rally.starts_at - timedelta(days=30, hours=2))
    with pytest.raises(rsvps.RsvpClosed, match=r"^This rally is over, so it no longer takes RSVPs\.$"):
        rsvps.take_place(stored_rsvp(pending.rsvp_id))
    with pytest.raises(rsvps.RsvpClosed, match=r"^This rally is over, so it no longer takes RSVPs\.$"):
        rsvps.change_guests(stored_rsvp(pending.rsvp_id), 1)
    assert (stored_rsvp(pending.rsvp_id).status, stored_rsvp(pending.rsvp_id).guests) == ("unconfirmed", 0)


def test_a_cancelled_rsvp_changes_no_party(make_rally, campaign):
    rally = make_rally(campaign, capacity=5)
    first = ana(rally)
    assert rsvps.cancel_rsvp(stored_rsvp(first.rsvp_id), notify=False)
    with pytest.raises(rsvps.RsvpError, match=r"^This RSVP is cancelled\.$"):
        rsvps.change_guests(stored_rsvp(first.rsvp_id), 1)
    assert stored_rsvp(first.rsvp_id).guests == 0


def test_a_repeat_resends_to_that_mailbox_only_naming_its_rsvp(make_rally, campaign):
    rally = make_rally(campaign, capacity=5)
    first = ana(rally)
    bo = rsvps.create_or_update_rsvp(rally, rsvps.RsvpInput(name="Bo Li", email="bo@example.org")).rsvp_id
    ana(rally)
    resent = outbox(to="ana@example.org")[-1]
    assert (resent.subject, resent.rsvp_id) == (SUBJECTS["resend"].format(title=rally.title), first.rsvp_id)
    assert stored_rsvp(bo).ticket_resent_at is None
    sent = len(outbox(to="bo@example.org"))
    rsvps.create_or_update_rsvp(rally, rsvps.RsvpInput(name="Bo Li", email="bo@example.org"))
    assert len(outbox(to="bo@example.org")) == sent + 1


def test_a_repeat_of_an_unconfirmed_rsvp_resends_the_confirmation(make_rally, campaign):
    rally = make_rally(campaign, capacity=5, confirm_by_email=True)
    ana(rally)
    ana(rally)
    assert outbox(to="ana@example.org")[-1].subject == SUBJECTS["confirm"].format(title=rally.title)


def test_the_resend_window_is_the_configured_one(app, make_rally, campaign):
    app.config["RSVP_RESEND_MINUTES"] = 0
    rally = make_rally(campaign, capacity=5)
    ana(rally)
    sent = len(outbox(to="ana@example.org"))
    ana(rally)
    ana(rally)
    assert len(outbox(to="ana@example.org")) == sent + 2


def test_a_cancellation_emails_only_when_asked_to(make_rally, campaign):
    rally = make_rally(campaign, capacity=5)
    first = ana(rally)
    sent = len(outbox(to="ana@example.org"))
    assert rsvps.cancel_rsvp(stored_rsvp(first.rsvp_id), notify=False)
    assert len(outbox(to="ana@example.org")) == sent
    assert not rsvps.cancel_rsvp(stored_rsvp(first.rsvp_id))  # already cancelled: nothing changes, nothing is sent
    assert len(outbox(to="ana@example.org")) == sent
    bo = rsvps.create_or_update_rsvp(rally, rsvps.RsvpInput(name="Bo Li", email="bo@example.org")).rsvp_id
    sent = len(outbox(to="bo@example.org"))
    assert rsvps.cancel_rsvp(stored_rsvp(bo))
    assert len(outbox(to="bo@example.org")) == sent + 1


def test_a_party_change_read_before_a_cancel_is_refused_once_locked(make_rally, campaign):
    rally = make_rally(campaign, capacity=5)
    first = ana(rally)
    assert rsvps.cancel_rsvp(stored_rsvp(first.rsvp_id), notify=False)
    stale = stored_rsvp(first.rsvp_id)
    set_committed_value(stale, "status", "going")  # as read by a request before the cancel
    with pytest.raises(rsvps.RsvpError, match=r"^This RSVP is cancelled\.$"):
        rsvps.change_guests(stale, 1)
    assert (stored_rsvp(first.rsvp_id).guests, stored_rally(rally.id).going_people) == (0, 0)


def test_the_guest_limit_is_said_in_the_singular_for_one(make_rally, campaign):
    rally = make_rally(campaign, capacity=5, max_guests=1)
    first = ana(rally)
    with pytest.raises(rsvps.RsvpError, match=r"^You can bring between 0 and 1 guest\.$"):
        rsvps.change_guests(stored_rsvp(first.rsvp_id), 2)
