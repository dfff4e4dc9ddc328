"""iCalendar (RFC 5545) files for a rally, built with the icalendar library: one VEVENT."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Alarm, Calendar, Event, vGeo

from ..models import utcnow

#: When the calendar file's alarm goes off, before the rally starts.
REMIND_BEFORE = timedelta(hours=2)


def rally_ics(rally, *, uid_domain: str, url: str = "", status_note: str = "") -> str:
    """A VCALENDAR with the rally as one event (times in UTC; cancelled rallies say so)."""
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
    event.add("sequence", int(rally.updated_at.timestamp()) if rally.updated_at else 0)
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
    cal.add("method", "PUBLISH")
    cal.add_component(event)
    return cal.to_ical().decode("utf-8")
