"""All tables, split by domain. Import models from here."""

from .accounts import ROLE_ORGANIZER, ROLE_OWNER, ROLE_RANK, ROLE_VIEWER, Campaign, Invite, Membership, User
from .door import ArrivalMinute, Checkin, Door, DoorLink, DoorSession, ScanLog
from .mail import CampaignMessage, OutboxMessage
from .rallies import GeocodeCache, Rally
from .rsvps import (
    RSVP_CANCELLED,
    RSVP_GOING,
    RSVP_UNCONFIRMED,
    RSVP_WAITLISTED,
    Rsvp,
    RsvpSmsConsent,
    Supporter,
    TicketImage,
)
from .types import UTCDateTime, utcnow
from .volunteers import Shift, VolunteerSignup

__all__ = [
    "ArrivalMinute", "Campaign", "CampaignMessage", "Checkin", "Door", "DoorLink", "DoorSession", "GeocodeCache", "Invite",
    "Membership", "OutboxMessage", "RSVP_CANCELLED", "RSVP_GOING", "RSVP_UNCONFIRMED", "RSVP_WAITLISTED", "ROLE_OWNER",
    "ROLE_ORGANIZER", "ROLE_RANK", "ROLE_VIEWER", "Rally", "Rsvp", "RsvpSmsConsent", "ScanLog", "Supporter",
    "TicketImage", "UTCDateTime", "User", "utcnow",
]
__all__ += ["Shift", "VolunteerSignup"]
