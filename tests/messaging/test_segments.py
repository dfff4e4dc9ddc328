"""Segments against hand-built data: each segment's rule, opted-out email, SMS consent, deleted supporters."""

from __future__ import annotations

from datetime import timedelta

from rallies.messaging import segments
from rallies.models import utcnow
from tests.factories import make_rally
from tests.messaging.people import add_person, consented


def test_each_segment_counts_exactly_its_people(rally):
    add_person(rally, "Going One")
    add_person(rally, "Going Two", opt_in=True)
    add_person(rally, "Waiting", status="waitlisted")
    add_person(rally, "Gone", status="cancelled", opt_in=True)
    add_person(rally, "Inside", checked_in_people=1)
    add_person(rally, "Walk In", is_walkin=True, checked_in_people=1)
    counts = {s: n["email"] for s, n in segments.counts(rally).items()}
    # Going includes the two checked in; the rally has not ended, so nobody is a no-show yet.
    assert counts == {"going": 4, "waitlisted": 1, "cancelled": 1, "checked_in": 2, "no_show": 0,
                      "walkin": 1, "opted_in": 2}


def test_no_shows_are_going_people_never_checked_in_at_a_rally_that_ended(owner, rally):
    from tests.factories import campaign_of

    past = make_rally(campaign_of(owner), starts_at=utcnow() - timedelta(days=2))
    for r in (rally, past):
        add_person(r, "Came", checked_in_people=2, guests=1)
        add_person(r, "Stayed Home")
        add_person(r, "Cancelled", status="cancelled")
    assert segments.count(past, "no_show", "email") == 1
    assert segments.count(rally, "no_show", "email") == 0


def test_email_skips_opted_out_and_deleted_supporters(rally):
    add_person(rally, "Stays")
    add_person(rally, "Unsubscribed", email_opt_out_at=utcnow())
    add_person(rally, "Deleted", deleted_at=utcnow())
    assert segments.count(rally, "going", "email") == 1


def test_sms_needs_consent_no_stop_and_a_phone(rally):
    add_person(rally, "Consented", **consented())
    add_person(rally, "Stopped", **consented(sms_stopped_at=utcnow()))
    add_person(rally, "No consent", phone="+13125550101")
    add_person(rally, "No phone", **consented(phone=""))
    add_person(rally, "Email opt-out only", **consented(email_opt_out_at=utcnow()))
    assert segments.count(rally, "going", "sms") == 2
    assert segments.count(rally, "going", "email") == 4


def test_other_rallies_people_are_never_counted(owner, rally):
    from tests.factories import campaign_of

    other = make_rally(campaign_of(owner))
    add_person(other, "Elsewhere")
    assert segments.count(rally, "going", "email") == 0


def test_counts_endpoint_gives_live_numbers_and_sms_cost(organizer_client, rally):
    for i in range(3):
        add_person(rally, f"P{i}", **consented())
    base = f"/organize/rallies/{rally.id}/messages/counts"
    data = organizer_client.get(base, query_string={"segment": "going", "channel": "both", "sms": "Hi"}).get_json()
    assert (data["email"], data["sms"], data["recipients"]) == (3, 3, 6)
    assert (data["sms_segments"], data["sms_total_segments"]) == (1, 3)
    accented = organizer_client.get(base, query_string={"segment": "going", "channel": "sms",
                                                        "sms": "x" * 100 + "ó"}).get_json()
    plain = organizer_client.get(base, query_string={"segment": "going", "channel": "sms",
                                                     "sms": "x" * 100 + "o"}).get_json()
    assert accented["sms_total_segments"] == 2 * plain["sms_total_segments"] == 6
    bad = organizer_client.get(base, query_string={"segment": "nope", "channel": "email"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "unknown_segment"


def test_sms_cost_counts_each_readers_language(organizer_client, rally):
    add_person(rally, "English", **consented())
    add_person(rally, "Spanish", locale="es", **consented())
    add_person(rally, "Spanish too", locale="es", **consented())
    data = organizer_client.get(f"/organize/rallies/{rally.id}/messages/counts", query_string={
        "segment": "going", "channel": "sms", "sms": "x" * 100, "es_sms": "Reunión " + "x" * 92}).get_json()
    # English: GSM-7, 1 segment. Spanish: the "ó" makes it UCS-2, 2 segments each.
    assert (data["sms_segments"], data["sms_segments_es"], data["sms_total_segments"]) == (1, 2, 5)


def test_preview_search_finds_people_reachable_on_either_channel(rally):
    add_person(rally, "Maria Email")
    add_person(rally, "Maria Text", **consented(email_opt_out_at=utcnow()))
    add_person(rally, "Maria Neither", email_opt_out_at=utcnow())
    names = [r.name for r in segments.find_recipients(rally, "going", "both", "maria")]
    assert names == ["Maria Email", "Maria Text"]
    assert [r.name for r in segments.find_recipients(rally, "going", "sms", "mar")] == ["Maria Text"]
