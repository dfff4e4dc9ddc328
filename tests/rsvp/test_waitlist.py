"""Capacity counts people; the waitlist promotes oldest first, skipping parties that do not fit; never oversold."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from rallies.database import atomic
from rallies.extensions import db
from rallies.keys.link_secrets import page_token
from rallies.mail import delivery
from rallies.models import Rally, Rsvp
from rallies.rsvp import lookups, rsvps
from tests.factories import campaign_of
from tests.stored import counts_from_rows, fresh, outbox, rsvp_by_email, stored_counts
from tests.web import rsvp_post, token_from


def _rsvp(client, rally, email, guests=0):
    resp = rsvp_post(client, rally, email=email, name=email.split("@")[0].title(), guests=guests)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return token_from(resp)


def _status(rally, email):
    return rsvp_by_email(rally, email).status


def test_capacity_counts_people_and_full_rally_waitlists(client, campaign, make_rally):
    rally = make_rally(campaign, capacity=3, max_guests=3)
    _rsvp(client, rally, "a@example.org", guests=1)   # 2 people
    _rsvp(client, rally, "b@example.org", guests=1)   # would be 4 > 3: waitlisted
    _rsvp(client, rally, "c@example.org", guests=0)   # 3: fits
    assert [_status(rally, e) for e in ("a@example.org", "b@example.org", "c@example.org")] == [
        "going", "waitlisted", "going"]
    counts = stored_counts(rally.id)
    assert counts == counts_from_rows(rally.id)
    assert counts["going_people"] == 3 and counts["waitlisted_people"] == 2 and counts["guests_count"] == 1
    page = client.get(f"/t/{page_token(rsvp_by_email(rally, 'b@example.org'))}").get_data(as_text=True)
    assert "Waitlisted: number 1 in line" in page
    assert b"waitlist" in delivery.render_body(outbox(to="b@example.org")[0])


def test_cancel_promotes_oldest_first_and_skips_parties_that_do_not_fit(client, campaign, make_rally):
    rally = make_rally(campaign, capacity=4, max_guests=3)
    a = _rsvp(client, rally, "a@example.org", guests=1)     # going, 2
    _rsvp(client, rally, "b@example.org", guests=1)         # going, 2 (full)
    _rsvp(client, rally, "w1@example.org", guests=2)        # waitlisted, 3
    _rsvp(client, rally, "w2@example.org", guests=0)        # waitlisted, 1
    _rsvp(client, rally, "w3@example.org", guests=0)        # waitlisted, 1
    assert client.get(f"/t/{a}/cancel").status_code == 200   # the confirmation step changes nothing
    assert _status(rally, "a@example.org") == "going"
    resp = client.post(f"/t/{a}/cancel")
    assert resp.status_code == 303
    # 2 places free: w1 (3) is skipped, not split; w2 and w3 (1 each) move in, oldest first.
    assert [_status(rally, e) for e in ("a@example.org", "w1@example.org", "w2@example.org", "w3@example.org")] == [
        "cancelled", "waitlisted", "going", "going"]
    assert len(outbox("promotion", "w2@example.org")) == 1 and len(outbox("promotion", "w3@example.org")) == 1
    assert outbox("promotion", "w1@example.org") == []
    assert len(outbox("cancellation", "a@example.org")) == 1
    assert stored_counts(rally.id) == counts_from_rows(rally.id)
    # Cancelling twice changes nothing.
    client.post(f"/t/{a}/cancel")
    assert stored_counts(rally.id) == counts_from_rows(rally.id)
    assert stored_counts(rally.id)["cancelled_parties"] == 1
    # The cancelled ticket is on the revocation list.
    assert lookups.revoked_ids(rally.id) == [rsvp_by_email(rally, "a@example.org").id]


def test_lowering_party_size_promotes(client, campaign, make_rally):
    rally = make_rally(campaign, capacity=4, max_guests=3)
    big = _rsvp(client, rally, "big@example.org", guests=3)
    _rsvp(client, rally, "w@example.org", guests=1)
    assert _status(rally, "w@example.org") == "waitlisted"
    resp = client.post(f"/t/{big}/guests", data={"guests": "1"})
    assert resp.status_code == 303
    assert _status(rally, "w@example.org") == "going"
    assert rsvp_by_email(rally, "big@example.org").guests == 1
    assert stored_counts(rally.id) == counts_from_rows(rally.id)
    assert stored_counts(rally.id)["going_people"] == 4


def test_raising_guests_without_room_is_refused_with_message(client, campaign, make_rally):
    rally = make_rally(campaign, capacity=3, max_guests=3)
    t = _rsvp(client, rally, "a@example.org", guests=0)
    _rsvp(client, rally, "b@example.org", guests=1)
    resp = client.post(f"/t/{t}/guests", data={"guests": "2"})
    assert resp.status_code == 422 and "room for 0 more people" in resp.get_data(as_text=True)
    assert rsvp_by_email(rally, "a@example.org").guests == 0
    assert stored_counts(rally.id) == counts_from_rows(rally.id)


@pytest.mark.parametrize("value", ["-1", "9", "abc", ""])
def test_guest_change_bad_input(client, campaign, make_rally, value):
    rally = make_rally(campaign, capacity=10, max_guests=3)
    t = _rsvp(client, rally, "a@example.org", guests=1)
    resp = client.post(f"/t/{t}/guests", data={"guests": value})
    assert resp.status_code == 422 and 'id="guests-error"' in resp.get_data(as_text=True)
    assert rsvp_by_email(rally, "a@example.org").guests == 1


def test_raising_capacity_promotes_via_service(client, campaign, make_rally):
    rally = make_rally(campaign, capacity=1, max_guests=3)
    _rsvp(client, rally, "a@example.org")
    _rsvp(client, rally, "w1@example.org", guests=2)
    _rsvp(client, rally, "w2@example.org")
    with atomic():
        r = db.session.get(Rally, rally.id)
        r.capacity = 3
        db.session.flush()
        promoted = rsvps.promote_waitlist(r)
    # w1 (3 people) does not fit in 2 places: skipped; w2 fits.
    assert [p.email for p in promoted] == ["w2@example.org"]
    assert stored_counts(rally.id) == counts_from_rows(rally.id)
    with atomic():
        r = db.session.get(Rally, rally.id)
        r.capacity = None
        db.session.flush()
        rsvps.promote_waitlist(r)
    assert _status(rally, "w1@example.org") == "going"
    assert stored_counts(rally.id) == counts_from_rows(rally.id)


def test_changed_seq_increases_per_rally_on_every_change(client, campaign, make_rally):
    rally = make_rally(campaign, capacity=1)
    other = make_rally(campaign)
    t = _rsvp(client, rally, "a@example.org")
    _rsvp(client, rally, "b@example.org")
    _rsvp(client, other, "x@example.org")
    db.session.expire_all()
    earlier = db.session.scalar(sa.select(sa.func.max(Rsvp.changed_seq)))
    client.post(f"/t/{t}/cancel")
    db.session.expire_all()
    seqs = {r.email: r.changed_seq for r in db.session.scalars(sa.select(Rsvp).where(Rsvp.rally_id == rally.id))}
    # Cancelling a and promoting b are both changes past every earlier number; x, at another rally, stays.
    assert min(seqs.values()) > earlier
    assert rsvp_by_email(other, "x@example.org").changed_seq < earlier + 1


def test_rejoin_after_cancel(client, campaign, make_rally):
    rally = make_rally(campaign, capacity=5)
    t = _rsvp(client, rally, "a@example.org")
    client.post(f"/t/{t}/cancel")
    # The RSVP form only re-sends the link (issue 9 item 1); the ticket page's "RSVP again" rejoins.
    again = client.post(f"/r/{rally.slug}/rsvp", data={"name": "A", "email": "a@example.org", "guests": "1"})
    assert "/t/" not in again.headers["Location"] and _status(rally, "a@example.org") == "cancelled"
    client.post(f"/t/{t}/confirm")
    assert _status(rally, "a@example.org") == "going"
    assert stored_counts(rally.id) == counts_from_rows(rally.id)


@pytest.mark.slow
def test_fifty_concurrent_rsvps_for_ten_places(live_server, make_user, make_rally):
    """Real HTTP, 50 threads released together: exactly 10 going, the other 40 waitlisted in arrival order."""
    rally = make_rally(campaign_of(make_user()), capacity=10, max_guests=0)
    url = f"{live_server.url}/r/{rally.slug}/rsvp"
    barrier = threading.Barrier(50)

    def one(i):
        session = requests.Session()
        barrier.wait()
        resp = session.post(url,
                            data={"name": f"Person {i}", "email": f"p{i}@example.org", "guests": "0"},
                            allow_redirects=False, timeout=60)
        return resp.status_code

    with ThreadPoolExecutor(50) as pool:
        codes = list(pool.map(one, range(50)))
    assert codes == [303] * 50
    db.session.rollback()  # end the read snapshot taken before the requests (SQLite WAL)
    rows = db.session.scalars(sa.select(Rsvp).where(Rsvp.rally_id == rally.id).order_by(Rsvp.id)).all()
    going = [r for r in rows if r.status == "going"]
    waiting = [r for r in rows if r.status == "waitlisted"]
    assert len(rows) == 50 and len(going) == 10 and len(waiting) == 40
    r = fresh(Rally, rally.id)
    assert (r.going_people, r.going_parties, r.waitlisted_people, r.waitlisted_parties) == (10, 10, 40, 40)
    # Arrival order = the order the rally lock was taken: every going RSVP came before every waitlisted one,
    # and the waitlist positions follow that order.
    assert max(g.id for g in going) < min(w.id for w in waiting)
    assert [lookups.waitlist_position(w) for w in waiting] == list(range(1, 41))
    assert [w.status_at for w in waiting] == sorted(w.status_at for w in waiting)
    assert len({r.changed_seq for r in rows}) == 50  # every RSVP is its own change for door devices
    assert len(outbox()) == 50
