"""iCalendar (RFC 5545) files for a rally, built with the icalendar library: one VEVENT.

Every file for a rally carries the same UID and SEQUENCE = ``Rally.ics_sequence``, which rises by one
each time supporters are told of a new time or place, so a calendar that holds the event replaces it.
A change notice is an iTIP REQUEST (RFC 5546: ORGANIZER and the supporter as ATTENDEE), a
cancellation a CANCEL; downloads and ticket emails are PUBLISH.
"""

from __future__ import annotations

from datetime import timedelta

from icalendar import Alarm, Calendar, Event, vCalAddress, vGeo

from ..models import utcnow

#: When the calendar file's alarm goes off, before the rally starts.
REMIND_BEFORE = timedelta(hours=2)


def rally_ics(rally, *, uid_domain: str, url: str = "", status_note: str = "", method: str = "PUBLISH",
              organizer: str = "", attendee: str = "") -> str:
    """A VCALENDAR with the rally as one event (times in UTC; cancelled rallies say so).

    ``method`` REQUEST or CANCEL needs ``organizer`` and ``attendee`` addresses (RFC 5546).
    """
    location = ", ".join(p for p in (rally.venue_name, rally.address, rally.city, rally.state, rally.postal_code) if p)
    description = "\n".join(p for p in (status_note, rally.description, url) if p)
    event = Event()
    event.add("uid", f"rally-{rally.id}@{uid_domain}")
    event.add("dtstamp", utcnow())
    event.add("dtstart", rally.starts_at)
    event.add("dtend", rally.ends_at)
    event.add("summary", rally.title)
    event.add("location", location)
    event.add("description", description)
    event.add("status", "CANCELLED" if rally.is_cancelled else "CONFIRMED")
    # Calendar apps replace an event they already hold only when its sequence grows.
    event.add("sequence", rally.ics_sequence or 0)
    if organizer:
        event.add("organizer", vCalAddress(f"mailto:{organizer}"))
    if attendee:
        who = vCalAddress(f"mailto:{attendee}")
        who.params["ROLE"], who.params["PARTSTAT"], who.params["RSVP"] = "REQ-PARTICIPANT", "ACCEPTED", "FALSE"
        event.add("attendee", who)
    if url:
        event.add("url", url)
    if rally.lat is not None and rally.lon is not None:
        event.add("geo", vGeo((rally.lat, rally.lon)))
    if not rally.is_cancelled:
        alarm = Alarm()  # calendar apps remind the supporter before the rally
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Reminder: {rally.title}")
        alarm.add("trigger", -REMIND_BEFORE)
        event.add_component(alarm)
    cal = Calendar()
    cal.add("prodid", "-//Rallies//Rallies//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    cal.add_component(event)
    return cal.to_ical().decode("utf-8")
