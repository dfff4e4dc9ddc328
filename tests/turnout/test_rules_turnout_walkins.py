"""Tallies and forecasts with walk-ins: walk-ins count as turnout, never as RSVP show-ups.

Show-up rate = RSVP people checked in / RSVP people going. Everything here is made through the
services (RSVPs, scans, walk-ins), so the counters are the ones production keeps.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from rallies.database import atomic
from rallies.door.admissions import admit_walkin, undo_checkin
from rallies.door.checkin import check_in
from rallies.models import utcnow
from rallies.rsvp.tickets import ticket_code
from rallies.turnout.forecast import backtest, forecast_rally, past_rallies
from rallies.turnout.tallies import RallyFilters, rally_tally, rollups
from tests.factories import at_door, nonce, quick_rsvp
from tests.stored import stored_rally


def held_rally(make_rally, campaign, *, going, admitted, walkins, days_ago=10, city="Chicago"):
    """A rally run through the services: `going` single RSVPs, `admitted` of them scanned, one walk-in
    party of `walkins` people; then moved into the past."""
    door = at_door(campaign, capacity=None, max_guests=10, city=city, state="IL")
    ids = [quick_rsvp(door.rally)[0] for _ in range(going)]
    for rsvp_id in ids[:admitted]:
        assert check_in(ticket_code(door.rally, rsvp_id), door.scanner, nonce=nonce()).admitted == 1
    if walkins:
        assert admit_walkin(door.scanner, name="Walk In", nonce=nonce(), guests=walkins - 1).admitted == walkins
    with atomic():
        r = stored_rally(door.rally.id)
        shift = r.starts_at - (utcnow() - timedelta(days=days_ago))
        r.starts_at, r.ends_at, r.doors_open_at = r.starts_at - shift, r.ends_at - shift, r.doors_open_at - shift
    return door


def test_walkins_are_turnout_not_rsvp_people(make_rally, campaign):
    door = held_rally(make_rally, campaign, going=4, admitted=2, walkins=3)
    t = rally_tally(stored_rally(door.rally.id))
    assert (t.checked_in_people, t.checked_in_rsvp_people, t.walkin_people) == (5, 2, 3)
    assert t.show_up_rate <= 2 / 4  # walk-ins never raise it


def test_walkins_leave_the_show_up_rate_alone(make_rally, campaign):
    door = held_rally(make_rally, campaign, going=4, admitted=2, walkins=3)
    assert rally_tally(stored_rally(door.rally.id)).show_up_rate == pytest.approx(2 / 4)


def test_undoing_a_walkin_gives_back_its_places_and_turnout(make_rally, campaign):
    door = at_door(campaign, capacity=None, max_guests=10)
    quick_rsvp(door.rally)
    verdict = admit_walkin(door.scanner, name="Walk In", nonce=nonce(), guests=1)
    undo_checkin(door.supervisor, rsvp_id=verdict.ticket["id"], reason="left", nonce=nonce())
    r = stored_rally(door.rally.id)
    assert (r.going_people, r.walkin_people, r.checked_in_people, r.checked_in_rsvp_people) == (1, 0, 0, 0)


def test_walkins_never_raise_the_learned_rate(make_rally, campaign):
    for days in (30, 20, 10):
        held_rally(make_rally, campaign, going=4, admitted=2, walkins=6, days_ago=days)
    history = past_rallies(campaign.id)
    assert [p.checked_in_rsvp_people for p in history] == [2, 2, 2]
    assert all(p.show_up_rate <= 0.5 for p in history)
    upcoming = make_rally(campaign, city="Chicago", state="IL", going_people=10)
    assert forecast_rally(upcoming, history).expected <= 5


def test_forecast_learns_the_rsvp_show_up_rate_only(make_rally, campaign):
    for days in (30, 20, 10):
        held_rally(make_rally, campaign, going=4, admitted=2, walkins=6, days_ago=days)
    history = past_rallies(campaign.id)
    assert [p.show_up_rate for p in history] == [pytest.approx(0.5)] * 3
    upcoming = make_rally(campaign, city="Chicago", state="IL", going_people=10)
    forecast = forecast_rally(upcoming, history)
    assert (forecast.basis, forecast.rate, forecast.expected) == ("city", pytest.approx(0.5), 5)


def test_backtest_compares_with_rsvp_people_checked_in(make_rally, campaign):
    for days in (30, 20):
        held_rally(make_rally, campaign, going=4, admitted=2, walkins=6, days_ago=days)
    result = backtest(campaign.id)
    assert result.forecasts == 1 and result.mape == pytest.approx(0.0)


def test_rollups_count_walkins_in_turnout_not_in_rsvp_people(make_rally, campaign):
    held_rally(make_rally, campaign, going=4, admitted=2, walkins=3)
    [city] = rollups(campaign.id, "city", RallyFilters())
    assert (city.turnout, city.checked_in_rsvp_people, city.walkin_people, city.held) == (5, 2, 3, 1)
    assert city.avg_show_up_rate <= 0.5


def test_rollups_average_the_rsvp_show_up_rate(make_rally, campaign):
    held_rally(make_rally, campaign, going=4, admitted=2, walkins=3)
    [city] = rollups(campaign.id, "city", RallyFilters())
    assert city.avg_show_up_rate == pytest.approx(0.5)


def test_recount_rebuilds_what_the_services_counted(make_rally, campaign):
    """The repair tool (and demo loader) lands on exactly the counters the live services kept."""
    import sqlalchemy as sa

    from rallies.extensions import db
    from rallies.models import ArrivalMinute, Rally
    from rallies.rallies import counters

    door = at_door(campaign, capacity=None, max_guests=10)
    ids = [quick_rsvp(door.rally, guests=g)[0] for g in (0, 2, 1)]
    for rsvp_id in ids[:2]:
        check_in(ticket_code(door.rally, rsvp_id), door.scanner, nonce=nonce())
    admit_walkin(door.scanner, name="Walk In", nonce=nonce(), guests=1)

    def snapshot():
        db.session.expire_all()
        rally = db.session.get(Rally, door.rally.id)
        minutes = db.session.execute(sa.select(ArrivalMinute.door_id, ArrivalMinute.minute, ArrivalMinute.people,
                                               ArrivalMinute.walkins).order_by(ArrivalMinute.minute)).all()
        doors = counters.door_totals(rally.id)
        return (rally.going_people, rally.going_parties, rally.guests_count, rally.checked_in_people,
                rally.checked_in_rsvp_people, rally.walkin_people, rally.peak_rate_per_min, minutes, doors)

    kept = snapshot()
    with atomic():
        db.session.execute(sa.delete(ArrivalMinute))
        db.session.execute(sa.update(Rally).values(going_people=0, going_parties=0, guests_count=0, checked_in_people=0,
                                                   checked_in_rsvp_people=0, walkin_people=0, peak_rate_per_min=0))
        counters.recount(door.rally.id)
        counters.recount_checkins(door.rally.id)
    assert snapshot() == kept
    assert kept[3:6] == (1 + 3 + 2, 1 + 3, 2)
