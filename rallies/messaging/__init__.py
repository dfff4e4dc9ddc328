"""Organizer messages (issue 13): segments, compose, preview, set-based queueing, schedules, opt-outs."""
