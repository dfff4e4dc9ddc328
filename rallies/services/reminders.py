"""The day-before reminder (filled in below; the command exists so cron can be configured)."""

from __future__ import annotations


def queue_reminders(within_hours: int = 36) -> int:
    """Queue one reminder per going RSVP of rallies starting soon; returns how many were queued."""
    return 0
