"""The change notice's preview: before an edit that moves a rally is saved, what supporters would be told.

The organizer sees what changed, how many people would be told and the email's text, then saves with
or without telling them (lifecycle.update_rally's ``notify``). Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Rally
from ..models.rallies import STATUS_SCHEDULED
from ..rsvp import notices
from .lifecycle import RallyDetails, apply_update, prepare_update


@dataclass(frozen=True)
class ChangePreview:
    """What a change notice would say, and to how many people."""

    #: (label, old, new) as the supporter reads them.
    rows: list[tuple[str, str, str]]
    audience: int
    subject: str
    text: str


def _copy(rally: Rally) -> Rally:
    """A transient copy of the rally (never added to the session) to try the edit on."""
    return Rally(**{column.key: getattr(rally, column.key) for column in Rally.__table__.columns})


def preview_change(rally: Rally, details: RallyDetails, *, geocoder=None) -> ChangePreview | None:
    """The notice an edit would send, or None when it would send none (nothing that matters moved, the
    rally is not scheduled, or no one going or waitlisted has an email). Raises RallyInvalid like an edit."""
    if rally.status != STATUS_SCHEDULED:
        return None
    prepared = prepare_update(rally, details, geocoder=geocoder)
    edited = _copy(rally)
    changes = apply_update(edited, prepared)
    if not changes:
        return None
    audience = notices.audience_count(rally)
    if not audience:
        return None
    rows = [notices.change_row(f, old, new, edited) for f, old, new in notices.change_rows(changes)]
    return ChangePreview(rows, audience, notices.change_subject(edited), notices.change_preview(edited, changes))
