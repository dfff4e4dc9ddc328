"""Queueing: one INSERT ... SELECT per channel, exactly the segment's rows, and never twice."""

from __future__ import annotations

import sqlalchemy as sa

from rallies.messaging import compose, queueing
from rallies.models import CampaignMessage, OutboxMessage, utcnow
from tests.messaging.people import add_person, consented, draft
from tests.stored import fresh, outbox


def _inserts_into_outbox(app):
    """A list collecting each INSERT INTO outbox_message the engine runs."""
    seen = []

    @sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
    def spy(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO OUTBOX_MESSAGE"):
            seen.append(statement)

    return seen, spy


def test_queue_writes_one_row_per_recipient_in_one_statement_and_requeue_writes_none(app, owner, rally):
    ids = [add_person(rally, f"P{i}") for i in range(5)]
    add_person(rally, "Opted out", email_opt_out_at=utcnow())
    message = compose.create_message(rally, owner, draft())
    seen, spy = _inserts_into_outbox(app)
    try:
        assert queueing.queue_message(message, owner) == 5
        assert queueing.queue_message(message, owner) is None
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", spy)
    assert len(seen) == 1 and "SELECT" in seen[0].upper()
    rows = outbox()
    assert sorted(r.rsvp_id for r in rows) == ids
    assert {(r.render_as, r.channel, r.campaign_message_id, r.status) for r in rows} == {
        ("campaign_message", "email", message.id, "pending")}
    assert all(r.render_params == {"campaign_message_id": message.id} for r in rows)
    assert len({r.message_id for r in rows}) == 5
    assert rows[0].message_id.startswith(f"<m{message.id}-") and rows[0].message_id.endswith(">")
    stored = fresh(CampaignMessage, message.id)
    assert (stored.status, stored.recipient_count, stored.sent_by_email) == ("queued", 5, owner.email)


def test_both_channels_write_email_and_sms_rows(owner, rally):
    add_person(rally, "Email only")
    add_person(rally, "Both", **consented())
    message = compose.create_message(rally, owner, draft(channel="both"))
    assert queueing.queue_message(message, owner) == 3
    sms = outbox(kind="campaign_sms")
    assert [(r.channel, r.to_addr, r.render_as) for r in sms] == [("sms", "+13125550100", "campaign_sms")]


def test_a_cancelled_message_is_never_queued(owner, rally):
    add_person(rally)
    message = compose.create_message(rally, owner, draft())
    assert compose.cancel_schedule(message)
    assert queueing.queue_message(message, owner) is None
    assert outbox() == []


def test_outbox_message_ids_are_unique_per_channel(owner, rally):
    add_person(rally, "Both", **consented())
    message = compose.create_message(rally, owner, draft(channel="both"))
    queueing.queue_message(message, owner)
    ids = [r.message_id for r in outbox()]
    assert len(ids) == 2 and len(set(ids)) == 2
    assert OutboxMessage.__table__.c.message_id.unique
