"""The server is the referee: doors admitting the last places at the same instant give exactly those admits."""

from __future__ import annotations

import threading

import pytest

from rallies.door.checkin import check_in
from rallies.extensions import db
from rallies.models import Rally, Rsvp
from tests.factories import at_door, bulk_tickets, campaign_of, door_session, make_door, nonce
from tests.stored import inside_from_rows


@pytest.mark.slow
def test_race_doors_fill_the_venue_exactly_once(app, make_user):
    """4 doors, each scanning its own 10 tickets at once, for a venue of 25: 25 admits, 15 holds."""
    door = at_door(campaign_of(make_user()), capacity=None, safe_capacity=25)
    rally = db.session.get(Rally, door.rally.id)
    tickets = bulk_tickets(rally, 40)
    contexts = [door_session(make_door(rally, f"Gate {i}"), device=f"Phone {i}")[0] for i in range(4)]
    results, barrier = [], threading.Barrier(4)

    def worker(ctx, mine):
        with app.app_context():
            barrier.wait()
            for _id, code in mine:
                results.append(check_in(code, ctx, nonce=nonce()).verdict)
            db.session.remove()

    threads = [threading.Thread(target=worker, args=(ctx, tickets[i::4])) for i, ctx in enumerate(contexts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("admit") == 25 and results.count("venue_full") == 15
    db.session.rollback()  # end this thread's old read snapshot
    stored = db.session.get(Rally, rally.id)
    assert (stored.inside_people, stored.checked_in_people) == (25, 25) and inside_from_rows(rally.id) == 25
    assert db.session.scalar(db.select(db.func.sum(Rsvp.checked_in_people))) == 25


@pytest.mark.slow
def test_race_two_doors_one_last_place(app, make_user):
    """Two doors scan two people for the one place left, at the same instant, many times: one admit each time."""
    door = at_door(campaign_of(make_user()), capacity=None, safe_capacity=1)
    rally = db.session.get(Rally, door.rally.id)
    south = door_session(make_door(rally, "South gate"), device="Phone 3")[0]
    rounds = 15
    pairs = [bulk_tickets(rally, 2) for _ in range(rounds)]
    admits = []
    for left, right in pairs:
        db.session.execute(db.update(Rally).where(Rally.id == rally.id).values(inside_people=0))
        db.session.commit()
        barrier, verdicts = threading.Barrier(2), []

        def worker(ctx, code, barrier=barrier, verdicts=verdicts):
            with app.app_context():
                barrier.wait()
                verdicts.append(check_in(code, ctx, nonce=nonce()).verdict)
                db.session.remove()

        threads = [threading.Thread(target=worker, args=(door.scanner, left[1])),
                   threading.Thread(target=worker, args=(south, right[1]))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        admits.append(sorted(verdicts))
    assert admits == [["admit", "venue_full"]] * rounds
