"""Issue 14: organizers define volunteer shifts; the rules on their times, places, doors and who may change them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from rallies.extensions import db
from rallies.models import DoorLink, Shift, utcnow
from rallies.volunteers.shifts import LINK_MARGIN, ShiftError, ShiftInput, create_shift, delete_shift, update_shift
from tests.factories import campaign_of, make_door, make_rally, make_shift, make_user, volunteer
from tests.stored import fresh


@pytest.fixture
def org(app, client, login):
    user = make_user()
    rally = make_rally(campaign_of(user), starts_at=datetime(2031, 7, 4, 18, 0, tzinfo=UTC))  # 13:00 CDT
    door = make_door(rally)
    login(client, user)
    return user, rally, door


def _form(door, **over):
    data = {"door_id": door.id, "starts_local": "2031-07-04T12:00", "ends_local": "2031-07-04T15:30", "slots": "3",
            "role": "scanner", "notes": "Bring a charged phone"}
    data.update(over)
    return data


def test_an_organizer_adds_a_shift_in_the_rallys_zone_stored_in_utc(org, client):
    _user, rally, door = org
    resp = client.post(f"/organize/rallies/{rally.id}/shifts/new", data=_form(door))
    assert resp.status_code == 303
    shift = db.session.scalar(sa.select(Shift))
    # 12:00 in Chicago in July is 17:00 UTC (CDT is UTC-5).
    assert (shift.starts_at, shift.ends_at) == (datetime(2031, 7, 4, 17, 0, tzinfo=UTC), datetime(2031, 7, 4, 20, 30, tzinfo=UTC))
    assert (shift.slots, shift.filled, shift.role, shift.notes) == (3, 0, "scanner", "Bring a charged phone")
    page = client.get(f"/organize/rallies/{rally.id}/shifts/").text
    assert "12:00 PM CDT" in page and "0 of 3 places filled, 3 open" in page


@pytest.mark.parametrize("over, field, words", [
    ({"ends_local": "2031-07-04T11:00"}, "ends_local", "The end must be after the start."),
    ({"ends_local": "2031-07-04T12:00"}, "ends_local", "The end must be after the start."),
    ({"slots": "0"}, "slots", "between 1 and 500"),
    ({"slots": "-2"}, "slots", "between 1 and 500"),
    ({"slots": ""}, "slots", "how many volunteers"),
    ({"role": "boss"}, "role", "Not a valid choice"),
    ({"starts_local": "not a time"}, "starts_local", "Not a valid datetime value"),
])
def test_bad_shifts_are_refused_with_a_message_on_the_field(org, client, over, field, words):
    _user, rally, door = org
    resp = client.post(f"/organize/rallies/{rally.id}/shifts/new", data=_form(door, **over))
    assert resp.status_code == 422
    assert words in resp.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Shift)) == 0


def test_a_door_of_another_rally_is_refused_by_the_form_and_the_service(org, client):
    _user, rally, _door = org
    other = make_door(make_rally(campaign_of(make_user())), "Elsewhere")
    resp = client.post(f"/organize/rallies/{rally.id}/shifts/new", data=_form(other))
    assert resp.status_code == 422
    with pytest.raises(ShiftError) as err:
        create_shift(rally, ShiftInput(other.id, datetime(2031, 7, 4, 12), datetime(2031, 7, 4, 14), 2, "scanner"))
    assert err.value.field == "door_id"


def test_a_time_the_clocks_skip_is_refused(org):
    _user, rally, door = org
    with pytest.raises(ShiftError) as err:
        create_shift(rally, ShiftInput(door.id, datetime(2031, 3, 9, 2, 30), datetime(2031, 3, 9, 5), 2, "scanner"))
    assert err.value.field == "starts_local" and "clocks change" in err.value.message


def test_a_viewer_sees_the_shifts_but_cannot_change_them(app, client, login, org):
    _user, rally, door = org
    shift = make_shift(rally, door)
    viewer = make_user(campaign=rally.campaign, role="viewer")
    login(client, viewer)
    page = client.get(f"/organize/rallies/{rally.id}/shifts/")
    assert page.status_code == 200 and "Add shift" not in page.text and "/delete" not in page.text
    base = f"/organize/rallies/{rally.id}/shifts"
    assert client.get(f"{base}/new").status_code == 403
    assert client.post(f"{base}/new", data=_form(door)).status_code == 403
    assert client.get(f"{base}/{shift.id}/edit").status_code == 403
    assert client.post(f"{base}/{shift.id}/edit", data=_form(door, slots="9")).status_code == 403
    assert client.post(f"{base}/{shift.id}/delete").status_code == 403
    assert client.get(f"{base}/roster.csv").status_code == 403
    assert fresh(Shift, shift.id).slots == 2


def test_another_campaigns_organizer_gets_404(app, client, login, org):
    _user, rally, door = org
    shift = make_shift(rally, door)
    login(client, make_user())
    base = f"/organize/rallies/{rally.id}/shifts"
    assert client.get(f"{base}/").status_code == 404
    assert client.post(f"{base}/{shift.id}/delete").status_code == 404
    assert fresh(Shift, shift.id) is not None


def test_a_shift_of_another_rally_under_this_rallys_url_is_404(app, client, login, org):
    user, rally, door = org
    second = make_rally(rally.campaign)
    shift = make_shift(second)
    assert client.post(f"/organize/rallies/{rally.id}/shifts/{shift.id}/delete").status_code == 404
    assert fresh(Shift, shift.id) is not None


def test_edit_keeps_signed_up_volunteers_places_door_and_role(org, client):
    _user, rally, door = org
    shift = make_shift(rally, door, slots=3)
    volunteer(shift, email="a@example.org")
    volunteer(shift, email="b@example.org")
    base = f"/organize/rallies/{rally.id}/shifts/{shift.id}/edit"
    assert "2 volunteers have signed up already" in client.post(base, data=_form(door, slots="1")).text
    other = make_door(rally, "South gate")
    assert "door and role cannot change" in client.post(base, data=_form(other)).text
    assert "door and role cannot change" in client.post(base, data=_form(door, role="supervisor")).text
    assert client.post(base, data=_form(door, slots="2")).status_code == 303
    assert fresh(Shift, shift.id).slots == 2


def test_moving_a_shift_moves_its_volunteers_door_links(org, client):
    _user, rally, door = org
    shift = make_shift(rally, door)
    volunteer(shift)
    resp = client.post(f"/organize/rallies/{rally.id}/shifts/{shift.id}/edit",
                       data=_form(door, starts_local="2031-07-04T10:00", ends_local="2031-07-04T11:00"))
    assert resp.status_code == 303
    link = db.session.scalar(sa.select(DoorLink))
    db.session.refresh(link)
    assert link.not_before == datetime(2031, 7, 4, 15, 0, tzinfo=UTC) - LINK_MARGIN
    assert link.expires_at == datetime(2031, 7, 4, 16, 0, tzinfo=UTC) + LINK_MARGIN


def test_deleting_a_shift_revokes_its_volunteers_links(org, client):
    _user, rally, door = org
    shift = make_shift(rally, door)
    volunteer(shift)
    resp = client.post(f"/organize/rallies/{rally.id}/shifts/{shift.id}/delete")
    assert resp.status_code == 303
    assert db.session.get(Shift, shift.id) is None
    link = db.session.scalar(sa.select(DoorLink))
    db.session.refresh(link)
    assert link.revoked_at is not None and link.revoked_at <= utcnow()


def test_service_refuses_what_the_form_would_not_send(org):
    _user, rally, door = org
    start = datetime(2031, 7, 4, 12)
    for slots in (0, -1, True, 501, "3"):
        with pytest.raises(ShiftError):
            create_shift(rally, ShiftInput(door.id, start, start + timedelta(hours=1), slots, "scanner"))
    with pytest.raises(ShiftError):
        create_shift(rally, ShiftInput(door.id, start, start + timedelta(hours=25), 2, "scanner"))
    shift = create_shift(rally, ShiftInput(door.id, start, start + timedelta(hours=1), 2, "supervisor"))
    with pytest.raises(ShiftError):
        update_shift(shift, ShiftInput(door.id, start, start - timedelta(minutes=1), 2, "supervisor"))
    assert delete_shift(shift) == 0
