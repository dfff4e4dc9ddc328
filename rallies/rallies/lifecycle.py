"""Rally lifecycle: create, edit, cancel, re-publish, pin correction; slugs; local times; descriptions.

Call these outside a write unit: each geocodes first (possibly over the network, and
caching the answer) and then writes the rally in its own ``atomic()`` unit, so no
database lock is held while a geocoder answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.exc import IntegrityError

from ..database import atomic
from ..extensions import db
from ..geo import gazetteer, geocode
from ..models import Rally
from ..models.rallies import (
    PRECISION_MANUAL,
    PRECISION_NONE,
    STATUS_CANCELLED,
    STATUS_SCHEDULED,
    VISIBILITY_DRAFT,
    VISIBILITY_LISTED,
)
from ..rsvp import notices
from ..rsvp.rsvps import promote_waitlist
from .texts import cleaned


class RallyError(Exception):
    """A domain error about a rally; ``field`` names the form field it belongs to, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


class RallyInvalid(RallyError):
    """The details cannot make a valid rally (times in the wrong order, unknown zone, ...)."""


class RallyStateError(RallyError):
    """The action does not fit the rally's state (e.g. cancelling a cancelled rally)."""


@dataclass
class RallyDetails:
    """What an organizer types; times are naive wall-clock times in ``timezone`` ('' = from the venue)."""

    title: str
    starts_local: datetime
    ends_local: datetime
    doors_local: datetime | None = None
    timezone: str = ""
    description: str = ""
    venue_name: str = ""
    address: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = "US"
    capacity: int | None = None
    max_guests: int = 2
    #: The fire-code limit on people inside at once (None: none), the re-entry policy and the overflow area.
    safe_capacity: int | None = None
    reentry_allowed: bool = True
    overflow_name: str = ""
    overflow_capacity: int | None = None
    accessibility_notes: str = ""
    visibility: str = VISIBILITY_DRAFT
    #: Places are held only once the supporter confirms from the email (high-demand rallies).
    confirm_by_email: bool = False
    #: The after-rally messages: a thank-you to those checked in, "sorry we missed you" to no-shows.
    send_thank_you: bool = True
    send_missed_you: bool = True
    #: The title and description in other languages: {"es": {"title": ..., "description": ...}} (texts.py).
    translations: dict = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: dict) -> RallyDetails:
        """Build from a dict with at least these keys (extra keys, like a form's csrf_token, are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def of(cls, rally: Rally) -> RallyDetails:
        """The details of an existing rally, times in its own zone (to prefill the edit form)."""
        return cls(
            title=rally.title, description=rally.description, timezone=rally.timezone,
            starts_local=local_naive(rally.starts_at, rally.timezone), ends_local=local_naive(rally.ends_at, rally.timezone),
            doors_local=local_naive(rally.doors_open_at, rally.timezone) if rally.doors_open_at else None,
            venue_name=rally.venue_name, address=rally.address, city=rally.city, state=rally.state,
            postal_code=rally.postal_code, country=rally.country, capacity=rally.capacity, max_guests=rally.max_guests,
            safe_capacity=rally.safe_capacity, reentry_allowed=rally.reentry_allowed,
            overflow_name=rally.overflow_name, overflow_capacity=rally.overflow_capacity,
            accessibility_notes=rally.accessibility_notes, visibility=rally.visibility,
            confirm_by_email=rally.confirm_by_email, send_thank_you=rally.send_thank_you,
            send_missed_you=rally.send_missed_you, translations=dict(rally.translations or {}),
        )

    def address_of(self) -> geocode.Address:
        """The address parts, trimmed, with an upper-case country code (what geocoding compares)."""
        return geocode.Address(self.address.strip(), self.city.strip(), self.state.strip(), self.postal_code.strip(),
                           (self.country or "US").strip().upper())


# --- Time -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Times:
    starts_at: datetime
    ends_at: datetime
    doors_open_at: datetime | None


@cache
def _all_zones() -> frozenset[str]:
    # available_timezones() walks the tz database on disk on every call.
    return frozenset(available_timezones())


@cache
def known_timezones() -> tuple[str, ...]:
    """Every IANA zone name this system knows, sorted (for the form's suggestions)."""
    return tuple(sorted(z for z in _all_zones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))))


def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or RallyInvalid on the timezone field."""
    try:
        if not name or name not in _all_zones():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RallyInvalid(f"“{name}” is not a time zone we know. Use a name like America/Chicago.", "timezone") from None


def to_utc(local: datetime, tz: ZoneInfo, field: str) -> datetime:
    """A wall-clock time in tz as UTC; a time skipped by a clock change is an error, not a guess."""
    aware = local.replace(tzinfo=tz)
    utc = aware.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise RallyInvalid(f"{local:%H:%M} does not exist on {local:%B %-d} in {tz.key} (the clocks change). "
                           "Choose another time.", field)
    return utc


def local_naive(moment: datetime, tz_name: str) -> datetime:
    """A stored UTC time as naive wall-clock time in the rally's zone."""
    return moment.astimezone(ZoneInfo(tz_name)).replace(tzinfo=None)




def _times(details: RallyDetails, tz: ZoneInfo) -> _Times:
    starts = to_utc(details.starts_local, tz, "starts_local")
    ends = to_utc(details.ends_local, tz, "ends_local")
    if ends <= starts:
        raise RallyInvalid("The end must be after the start.", "ends_local")
    doors = None
    if details.doors_local is not None:
        doors = to_utc(details.doors_local, tz, "doors_local")
        if doors > starts:
            raise RallyInvalid("Doors must open at or before the start.", "doors_local")
        if (starts - doors).total_seconds() > 12 * 3600:
            raise RallyInvalid("Doors can open at most 12 hours before the start.", "doors_local")
    return _Times(starts, ends, doors)


# --- Slugs ------------------------------------------------------------------------------------


def slugify(text: str, max_length: int = 80) -> str:
    """'Rally for Jobs — Austin!' -> 'rally-for-jobs-austin'."""
    slug = gazetteer.fold(text).replace(" ", "-")
    return slug[:max_length].rstrip("-") or "rally"


def unique_slug(title: str, city: str = "") -> str:
    """A readable slug no other rally uses: title and city, then -2, -3, ... if taken."""
    base = slugify(f"{title} {city}" if city and gazetteer.fold(city) not in gazetteer.fold(title) else title)
    taken = set(db.session.scalars(db.select(Rally.slug).where(Rally.slug.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


# --- Lifecycle --------------------------------------------------------------------------------


def _apply(rally: Rally, details: RallyDetails, times: _Times, tz_name: str) -> None:
    rally.title = details.title.strip()
    rally.description = details.description.strip()
    rally.starts_at, rally.ends_at, rally.doors_open_at = times.starts_at, times.ends_at, times.doors_open_at
    rally.timezone = tz_name
    address = details.address_of()
    rally.venue_name = details.venue_name.strip()
    rally.address, rally.city, rally.postal_code, rally.country = (
        address.street, address.city, address.postal_code, address.country)
    rally.state = (gazetteer.state_code(address.state) or address.state) if address.country == "US" else address.state
    rally.capacity, rally.max_guests = details.capacity, details.max_guests
    rally.safe_capacity, rally.reentry_allowed = details.safe_capacity, bool(details.reentry_allowed)
    # No overflow area without a name: its capacity goes with it.
    rally.overflow_name = (details.overflow_name or "").strip()[:80]
    rally.overflow_capacity = details.overflow_capacity if rally.overflow_name else None
    rally.accessibility_notes = details.accessibility_notes.strip()
    rally.visibility = details.visibility
    rally.confirm_by_email = bool(details.confirm_by_email)
    rally.send_thank_you, rally.send_missed_you = bool(details.send_thank_you), bool(details.send_missed_you)
    rally.translations = cleaned(details.translations)  # a new dict: the JSON column sees the change


def _place(rally: Rally, result: geocode.GeoResult) -> None:
    rally.lat, rally.lon = result.lat, result.lon
    rally.geo_precision, rally.geo_source = result.precision, result.source


def _check_address(details: RallyDetails) -> None:
    """US addresses: a real state and a well-formed ZIP (other countries are taken as typed)."""
    address = details.address_of()
    if address.country != "US":
        return
    if address.state and gazetteer.state_code(address.state) is None:
        raise RallyInvalid(f"“{address.state}” is not a US state. Use its two-letter code, e.g. TX.", "state")
    if address.postal_code and gazetteer.zip5(address.postal_code) is None:
        raise RallyInvalid("A US ZIP code has five digits (or ZIP+4, e.g. 78701-1234).", "postal_code")


def _zone_for(details: RallyDetails, result: geocode.GeoResult) -> str:
    name = details.timezone.strip()
    if name:
        zone(name)
        return name
    if result.timezone:
        return result.timezone
    raise RallyInvalid("We could not find the venue, so we cannot tell its time zone. Choose one.", "timezone")


def create_rally(campaign_id: int, details: RallyDetails, *, geocoder=None, offline: bool = False) -> Rally:
    """Geocode the venue, then save a new rally with a unique slug and ticket-signing keys.

    A venue that cannot be found still saves (precision "none", flagged to the organizer).
    ``offline=True`` uses only the gazetteer (demo data, bulk imports).
    """
    from ..rsvp.tickets import ensure_rally_keys

    _check_address(details)
    if details.timezone.strip():
        zone(details.timezone.strip())  # fail on a bad zone before spending a geocoder call
    result = geocode.geocode(details.address_of(), geocoder, offline=offline)
    tz_name = _zone_for(details, result)
    times = _times(details, zone(tz_name))
    for _attempt in range(3):
        try:
            with atomic():
                rally = Rally(campaign_id=campaign_id, slug=unique_slug(details.title, details.city))
                _apply(rally, details, times, tz_name)
                _place(rally, result)
                db.session.add(rally)
                db.session.flush()
                ensure_rally_keys(rally)
            return rally
        except IntegrityError:
            continue  # another rally took the same slug a moment ago; pick the next one
    raise RallyError("Could not save the rally; please try again.")


_VENUE_FIELDS = ("venue_name", "address", "city", "state", "postal_code", "country")
_TIME_FIELDS = ("starts_at", "ends_at", "doors_open_at", "timezone")
#: What supporters are told about when it changes (rallies/change_notice.py previews it first).
NOTICE_FIELDS = _VENUE_FIELDS + _TIME_FIELDS


@dataclass(frozen=True)
class PreparedUpdate:
    """An edit checked and geocoded, ready to apply: the new place (None: address unchanged), zone and times."""

    details: RallyDetails
    place: geocode.GeoResult | None
    tz_name: str
    times: _Times


def prepare_update(rally: Rally, details: RallyDetails, *, geocoder=None) -> PreparedUpdate:
    """Check an edit and geocode a changed address (outside any write unit); raises RallyInvalid."""
    address_changed = details.address_of() != geocode.Address(rally.address, rally.city, rally.state,
                                                           rally.postal_code, rally.country)
    _check_address(details)
    if details.timezone.strip():
        zone(details.timezone.strip())
    result = geocode.geocode(details.address_of(), geocoder) if address_changed else None
    tz_name = _zone_for(details, result) if result is not None else (details.timezone.strip() or rally.timezone)
    return PreparedUpdate(details, result, tz_name, _times(details, zone(tz_name)))


def apply_update(rally: Rally, prepared: PreparedUpdate) -> dict[str, tuple]:
    """Set the edit on ``rally`` (no commit); returns {field: (old, new)} of the NOTICE_FIELDS that changed."""
    before = {name: getattr(rally, name) for name in NOTICE_FIELDS}
    _apply(rally, prepared.details, prepared.times, prepared.tz_name)
    if prepared.place is not None:
        _place(rally, prepared.place)
    return {name: (before[name], getattr(rally, name)) for name in before if before[name] != getattr(rally, name)}


def update_rally(rally: Rally, details: RallyDetails, *, geocoder=None, notify: bool = True) -> dict[str, tuple]:
    """Save edits; re-geocode only if the address changed. Returns {field: (old, new)} of what changed.

    When a scheduled rally moves in time or place and ``notify`` is set, its calendar SEQUENCE rises by
    one and everyone going or waitlisted is told (notices.rally_changed), in the same transaction.
    """
    prepared = prepare_update(rally, details, geocoder=geocoder)
    with atomic():
        rally = db.session.merge(rally)
        old_capacity = rally.capacity
        changes = apply_update(rally, prepared)
        if changes and notify and rally.status == STATUS_SCHEDULED:
            # Read, not incremented in SQL: a double submit racing this one computes the same sequence,
            # so its notices carry the same keys and are not queued twice.
            rally.ics_sequence = (rally.ics_sequence or 0) + 1
            notices.rally_changed(rally, changes)
        if old_capacity is not None and (rally.capacity is None or rally.capacity > old_capacity):
            db.session.flush()  # promote_waitlist re-reads the rally row under its lock
            promote_waitlist(rally)
    return changes


def cancel_rally(rally: Rally, message: str) -> Rally:
    """Cancel with a message shown on the rally page; supporters are told (notices.rally_cancelled)."""
    with atomic():
        rally = db.session.merge(rally)
        if rally.status == STATUS_CANCELLED:
            raise RallyStateError("This rally is already cancelled.")
        rally.status, rally.cancel_message = STATUS_CANCELLED, message.strip()
        notices.rally_cancelled(rally)
    return rally


def republish_rally(rally: Rally) -> Rally:
    """Undo a cancellation: the rally is scheduled again (visibility unchanged)."""
    with atomic():
        rally = db.session.merge(rally)
        if rally.status != STATUS_CANCELLED:
            raise RallyStateError("Only a cancelled rally can be published again.")
        rally.status, rally.cancel_message = STATUS_SCHEDULED, ""
    return rally


def set_pin(rally: Rally, lat: float, lon: float) -> Rally:
    """Move the rally's pin by hand (dragged marker or typed coordinates); precision becomes "manual"."""
    try:
        result = geocode.manual_pin(float(lat), float(lon))
    except ValueError as exc:
        raise RallyInvalid(str(exc), "lat") from None
    with atomic():
        rally = db.session.merge(rally)
        _place(rally, result)
    return rally


def regeocode(rally: Rally, *, geocoder=None) -> Rally:
    """Look the address up again (e.g. after a network outage gave only the city), dropping a manual pin."""
    result = geocode.geocode(geocode.Address(rally.address, rally.city, rally.state, rally.postal_code, rally.country), geocoder)
    with atomic():
        rally = db.session.merge(rally)
        _place(rally, result)
    return rally


def upcoming_listed(*, state: str = "", city: str = "", now: datetime | None = None):
    """SELECT of listed, scheduled rallies that have not ended, soonest first (ix_rally_public)."""
    query = db.select(Rally).where(
        Rally.visibility == VISIBILITY_LISTED, Rally.status == STATUS_SCHEDULED,
        Rally.ends_at > (now or datetime.now(UTC)),
    )
    if state:
        query = query.where(Rally.state == state)
    if city:
        query = query.where(db.func.lower(Rally.city) == city.strip().lower())
    return query.order_by(Rally.starts_at, Rally.id)


@dataclass(frozen=True)
class ListCursor:
    """A place in the public list: the (starts_at, id) of a rally, written ``2026-03-14T19:00:00Z,42`` in links."""

    starts_at: datetime
    id: int

    @classmethod
    def of(cls, rally: Rally) -> ListCursor:
        """The cursor just at this rally."""
        return cls(rally.starts_at, rally.id)

    @classmethod
    def parse(cls, text: str | None) -> ListCursor | None:
        """The cursor a link carries, or None when it is missing or not one of ours."""
        if not text or len(text) > 64:
            return None
        stamp, _, rid = text.rpartition(",")
        if not (rid.isascii() and rid.isdigit() and 0 < int(rid) < 2**63):
            return None
        try:
            starts_at = datetime.fromisoformat(stamp)
            if starts_at.tzinfo is None:
                return None
            return cls(starts_at.astimezone(UTC), int(rid))
        except (ValueError, OverflowError):
            return None

    def __str__(self) -> str:
        return self.starts_at.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z," + str(self.id)


@dataclass(frozen=True)
class UpcomingPage:
    """One page of the public list, with the cursors of the pages on either side (None: no such page)."""

    rallies: list[Rally]
    later: ListCursor | None
    sooner: ListCursor | None


def upcoming_page(query, *, after: ListCursor | None = None, before: ListCursor | None = None,
                  limit: int = 20) -> UpcomingPage:
    """The ``limit`` rallies of ``upcoming_listed()`` just after ``after``, or just before ``before``, or first.

    Keyset pages on (starts_at, id): each page is an index range on ix_rally_public, however deep,
    and a rally added or removed meanwhile neither repeats nor skips another. One row past the page
    says whether there is a next one.
    """
    key = sa.tuple_(Rally.starts_at, Rally.id)
    if before is not None:
        rows = list(db.session.scalars(query.where(key < (before.starts_at, before.id)).order_by(None)
                                       .order_by(Rally.starts_at.desc(), Rally.id.desc()).limit(limit + 1)))
        if len(rows) > limit:
            page = rows[:limit][::-1]
            return UpcomingPage(page, ListCursor.of(page[-1]), ListCursor.of(page[0]))
        if len(rows) == limit:
            return UpcomingPage(rows[::-1], ListCursor.of(rows[0]), None)
        after = None  # fewer than a page before it: the list has changed; show a full first page
    if after is not None:
        query = query.where(key > (after.starts_at, after.id))
    rows = list(db.session.scalars(query.limit(limit + 1)))
    page = rows[:limit]
    later = ListCursor.of(page[-1]) if len(rows) > limit else None
    sooner = ListCursor.of(page[0]) if after is not None and page else None
    return UpcomingPage(page, later, sooner)


def is_flagged(rally: Rally) -> bool:
    """True when the venue was not found (no pin): shown to the organizer as a warning."""
    return rally.geo_precision == PRECISION_NONE or rally.lat is None


# --- Description ------------------------------------------------------------------------------

_URL_RE = re.compile(r"https?://[^\s<>\"']+", re.I)


def description_html(text: str) -> Markup:
    """Plain text as safe HTML: escaped, paragraphs and line breaks kept, http(s) links clickable."""
    paragraphs = [p for p in re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n").strip()) if p.strip()]
    return Markup("\n").join(Markup("<p>{}</p>").format(Markup("<br>\n").join(_linkify(line) for line in p.split("\n")))
                             for p in paragraphs)


def _linkify(line: str) -> Markup:
    out, pos = [], 0
    for match in _URL_RE.finditer(line):
        url = match.group(0)
        trail = re.search(r"[.,;:!?)\]]+$", url)
        if trail:  # "see https://x.org." -> the full stop is prose, not URL
            url = url[: trail.start()]
        out.append(escape(line[pos:match.start()]))
        out.append(Markup('<a href="{0}" rel="nofollow noopener noreferrer">{0}</a>').format(url))
        pos = match.start() + len(url)
    out.append(escape(line[pos:]))
    return Markup("").join(out)


PRECISION_LABELS = {
    "street": "street address", "zip": "ZIP code centre", "city": "city centre",
    PRECISION_MANUAL: "set by hand", PRECISION_NONE: "address not found",
}
