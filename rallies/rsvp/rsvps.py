"""RSVPs: create, update, cancel, the waitlist and the rally counters.

Concurrency. Every change to a rally's RSVPs starts with an UPDATE of the rally row:
the conditional ``going_people + n <= capacity`` increment (its rowcount decides
going or waitlisted), or a plain counter change. On PostgreSQL that UPDATE holds the
rally's row lock until commit, and its WHERE is re-checked against the latest row, so
two requests can never both take the last place. On SQLite ``atomic()`` runs BEGIN
IMMEDIATE, which serialises writers. Either way, per-rally changes are serialised
from their first statement, so:

* capacity is never oversold, and the waitlist order is the order of arrival;
* ``Rsvp.changed_seq`` is a change number from ``counters.next_change_number()``, taken
  from the rally row after its lock, once per transaction: per rally, numbers follow the order of
  commits, so door devices syncing with ``changed_seq > since`` never miss a change
  (see door/sync.py).

Counters on Rally (going_people, going_parties, guests_count (guests of going
parties), waitlisted_people, waitlisted_parties, cancelled_parties) move only through
rallies/counters.py, in the same transaction as the RSVP change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext, ngettext
from sqlalchemy.exc import IntegrityError

from ..database import atomic
from ..extensions import db
from ..keys.link_secrets import new_page_token, page_token
from ..mail.addresses import canonical_email, normalise_email
from ..models import RSVP_CANCELLED, RSVP_GOING, RSVP_UNCONFIRMED, RSVP_WAITLISTED, Rally, Rsvp, utcnow
from ..rallies import counters
from ..sms.consent import SmsConsent
from . import notices
from .names import door_name, search_text
from .new_rsvp import insert_new_rsvp, link_supporter
from .tickets import ensure_rally_keys

rally_t = Rally.__table__
rsvp_t = Rsvp.__table__


class RsvpError(Exception):
    """A request the RSVP rules refuse; the message is shown to the person."""


class RsvpClosed(RsvpError):
    """The rally is cancelled, over, or not open for RSVPs."""


class NotEnoughRoom(RsvpError):
    """A going party asked for more guests than there is room for."""


class AlreadyInside(RsvpError):
    """People of the party were admitted at the door: the places they stand in cannot be given away."""


@dataclass
class RsvpInput:
    """Validated form data (views build it from the form, the CLI and tests directly)."""

    name: str
    email: str
    phone: str = ""
    postal_code: str = ""
    guests: int = 0
    opt_in: bool = False
    utm: dict = field(default_factory=dict)
    ref: str = ""
    #: The language of the page the RSVP came from ("" = unknown): the supporter's email language.
    locale: str = ""
    #: Set when the supporter ticked "Text me updates" (``phone`` is then E.164).
    sms_consent: SmsConsent | None = None


@dataclass
class RsvpResult:
    rsvp_id: int
    #: New RSVPs: "going", "waitlisted" or "unconfirmed". "repeat": the mailbox already had an RSVP,
    #: nothing changed and its owner was emailed their link. Organizer adds: "updated" or "rejoined".
    outcome: str
    #: Set when an update could not take all the guests asked for.
    note: str = ""
    #: Known inside the transaction, so views need no reload after the commit (never shown for a repeat).
    token: str = ""
    email: str | None = None

    @property
    def rsvp(self) -> Rsvp:
        """The RSVP row (loaded on first use)."""
        return db.session.get(Rsvp, self.rsvp_id)


# ------------------------------------------------------------------------------------------ helpers


def rally_open_problem(rally: Rally, now: datetime | None = None) -> str | None:
    """Why the rally takes no RSVPs, or None if it does."""
    now = now or utcnow()
    if rally.is_cancelled:
        return gettext("This rally has been cancelled, so it no longer takes RSVPs.")
    if not rally.is_public:
        return gettext("This rally is not open for RSVPs yet.")
    if rally.ends_at <= now:
        return gettext("This rally is over, so it no longer takes RSVPs.")
    return None


def _hold_admitted(rsvp_id: int, most_inside: int) -> bool:
    """Lock the RSVP's row if at most most_inside of its party were admitted; False if more were.

    The check-in's conditional UPDATE (``checked_in_people + n <= guests + 1``) locks the same
    row, so it waits for this transaction and re-checks against the new party size: a party can
    never shrink below the people inside, even with a scan racing the change. Taken before the
    rally row, in the check-in's lock order (ticket, then rally), so the two never deadlock.
    """
    result = db.session.execute(
        rsvp_t.update().where(rsvp_t.c.id == rsvp_id, rsvp_t.c.checked_in_people <= most_inside)
        .values(changed_seq=rsvp_t.c.changed_seq))
    return result.rowcount == 1


def _inside_problem(rsvp_id: int, guests: int) -> AlreadyInside | None:
    """AlreadyInside if more than guests + 1 of the party were admitted (the row stays locked otherwise)."""
    if _hold_admitted(rsvp_id, guests + 1):
        return None
    inside = db.session.scalar(sa.select(rsvp_t.c.checked_in_people).where(rsvp_t.c.id == rsvp_id)) or 0
    return AlreadyInside(ngettext("%(num)d of your party is already inside, so your party cannot be smaller than %(num)d.",
                                  "%(num)d of your party are already inside, so your party cannot be smaller than %(num)d.",
                                  inside))


def _touch(rsvp: Rsvp, seq: int) -> None:
    rsvp.changed_seq = seq
    rsvp.updated_at = utcnow()


# ---------------------------------------------------------------------------------------- RSVP flow


class _Listed(Exception):  # noqa: N818  (a signal, not an error)
    """The optimistic insert met the mailbox's RSVP already on the list: roll it all back."""


def create_or_update_rsvp(rally: Rally, data: RsvpInput, *, by_organizer: bool = False) -> RsvpResult:
    """RSVP someone, queueing their ticket (or confirmation) email.

    One mailbox holds one RSVP per rally (``Rsvp.email_key``). When it already has one, a public
    RSVP changes nothing and the owner is emailed their ticket link again (``repeat``); changes go
    through that link. An organizer's add updates the existing RSVP instead: organizers already
    see and change every RSVP of their rally.

    A public RSVP is usually a new mailbox, so it is inserted without looking first: the capacity
    decision takes the rally's lock, and the INSERT's unique index answers whether the mailbox is on
    the list already. If it is, that transaction is rolled back and the repeat is answered in another.
    """
    problem = rally_open_problem(rally)
    if problem and not (by_organizer and not rally.is_cancelled):
        raise RsvpClosed(problem)
    if data.guests < 0 or data.guests > rally.max_guests:
        raise RsvpError(ngettext("You can bring between 0 and %(num)d guest.",
                                "You can bring between 0 and %(num)d guests.", rally.max_guests))
    email = normalise_email(data.email)
    # An organizer-added RSVP needs no confirmation: the organizer vouches for it.
    confirm = bool(getattr(rally, "confirm_by_email", False)) and not by_organizer and bool(email)
    facts = (rally.id, rally.campaign_id, rally.title, bool(rally.signing_key), confirm)
    for attempt in range(3):
        try:
            if not by_organizer:
                try:
                    with atomic():
                        return _insert(facts, email, data)
                except _Listed:
                    pass
            with atomic():
                return _create(facts, email, data, by_organizer)
        except IntegrityError:
            # The same mailbox RSVPed at the same moment (its row landed after our lookup); the retry finds it.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _take_places(facts: tuple, data: RsvpInput) -> str:
    """The capacity decision for a new RSVP, which takes the rally's lock: its status."""
    rally_id, _, _, has_keys, confirm = facts
    if not has_keys:
        ensure_rally_keys(db.session.get(Rally, rally_id))
    people = data.guests + 1
    if confirm:
        counters.lock_rally(rally_id)
        return RSVP_UNCONFIRMED
    if counters.take_places(rally_id, people, data.guests):
        return RSVP_GOING
    counters.move_rsvp_counts(rally_id, waitlisted_people=people, waitlisted_parties=1)
    return RSVP_WAITLISTED


def _insert(facts: tuple, email: str, data: RsvpInput) -> RsvpResult:
    """A new mailbox: take places (or join the waitlist, or, when the rally wants confirmation, take none
    yet) and insert the RSVP; _Listed when the mailbox turns out to have an RSVP here already."""
    rally_id, campaign_id, title, _, confirm = facts
    status = _take_places(facts, data)
    values = _new_values(rally_id, email, data, status=status)
    rsvp_id = insert_new_rsvp(values, campaign_id=campaign_id, title=title, reason="confirm" if confirm else status,
                              locale=data.locale)
    if rsvp_id is None:
        raise _Listed
    return RsvpResult(rsvp_id, status, token=values.pop("token"), email=email)


def _create(facts: tuple, email: str, data: RsvpInput, by_organizer: bool) -> RsvpResult:
    """Under the rally's lock: a repeat is answered without a change (an organizer's add updates the RSVP);
    a mailbox not on the list after all is inserted as new."""
    rally_id = facts[0]
    counters.lock_rally(rally_id)
    key = canonical_email(email) or None
    existing_id = db.session.scalar(sa.select(rsvp_t.c.id).where(rsvp_t.c.rally_id == rally_id, rsvp_t.c.email_key == key)) if key else None
    if existing_id is not None:
        rsvp = db.session.get(Rsvp, existing_id, populate_existing=True)
        return _update_existing(rsvp, data) if by_organizer else _repeat(rsvp, data.locale)
    try:
        return _insert(facts, email, data)
    except _Listed:
        raise IntegrityError("rsvp insert", {}, Exception("this mailbox has an RSVP here already")) from None


def _repeat(rsvp: Rsvp, locale: str = "") -> RsvpResult:
    """The mailbox is on the list already: change nothing, and email its owner their link, at most once a window.

    The conditional UPDATE is the limit (the rally lock is held, and the database is shared by every
    worker): it matches only when no resend went out within RSVP_RESEND_MINUTES.
    """
    now = utcnow()
    window = timedelta(minutes=current_app.config.get("RSVP_RESEND_MINUTES", 10))
    claimed = db.session.execute(
        rsvp_t.update().where(rsvp_t.c.id == rsvp.id, sa.or_(rsvp_t.c.ticket_resent_at.is_(None),
                                                             rsvp_t.c.ticket_resent_at <= now - window))
        .values(ticket_resent_at=now)
    ).rowcount == 1
    if claimed and rsvp.email:
        notices.queue_ticket_email(rsvp.id, rsvp.email, "confirm" if rsvp.status == RSVP_UNCONFIRMED else "resend",
                                   rsvp.rally.title, locale=locale)
    return RsvpResult(rsvp.id, "repeat")


def _new_values(rally_id: int, email: str, data: RsvpInput, status: str) -> dict:
    """A new RSVP's column values (rsvp_insert.RSVP_COLUMNS), and its page token as ``token``."""
    now = utcnow()
    page = new_page_token()
    return dict(
        rally_id=rally_id, token=page.token, **page.columns(), name=data.name, email=email,
        email_key=canonical_email(email) or None, phone=data.phone,
        postal_code=data.postal_code, door_name=door_name(data.name), search_name=search_text(data.name),
        guests=data.guests, is_walkin=False, checked_in_people=0, opt_in=data.opt_in, opt_in_at=now if data.opt_in else None,
        utm_source=(data.utm.get("source") or "")[:100], utm_medium=(data.utm.get("medium") or "")[:100],
        utm_campaign=(data.utm.get("campaign") or "")[:100], ref=(data.ref or "")[:100],
        status_at=now, reminder_answer="", created_at=now, updated_at=now, status=status,
        changed_seq=counters.next_change_number(rally_id), sms_consent=data.sms_consent if data.phone else None,
    )


def _update_existing(rsvp: Rsvp, data: RsvpInput) -> RsvpResult:
    """An organizer adds a mailbox already on the list: update that RSVP, re-send the ticket, say so."""
    rsvp.name = data.name or rsvp.name
    if data.phone:
        rsvp.phone = data.phone
    if data.postal_code:
        rsvp.postal_code = data.postal_code
    if data.opt_in and not rsvp.opt_in:
        rsvp.opt_in, rsvp.opt_in_at = True, utcnow()
    rsvp.door_name = door_name(rsvp.name)
    rsvp.search_name = search_text(rsvp.name)
    outcome, note = "updated", ""
    if rsvp.status in (RSVP_CANCELLED, RSVP_UNCONFIRMED):
        _rejoin(rsvp, data.guests)
        outcome = "rejoined"
    elif data.guests != rsvp.guests:
        try:
            _change_party(rsvp, data.guests)
        except NotEnoughRoom as exc:
            note = str(exc)
    _touch(rsvp, counters.next_change_number(rsvp.rally_id))
    db.session.flush()
    notices.ticket_email(rsvp, "updated")
    return RsvpResult(rsvp.id, outcome, note, token=page_token(rsvp), email=rsvp.email)


def _rejoin(rsvp: Rsvp, guests: int) -> None:
    """A cancelled (or unconfirmed) RSVP takes a place: going if it fits, else the end of the waitlist."""
    people = guests + 1
    if rsvp.status == RSVP_CANCELLED:
        counters.move_rsvp_counts(rsvp.rally_id, cancelled_parties=-1)
    if counters.take_places(rsvp.rally_id, people, guests):
        rsvp.status = RSVP_GOING
    else:
        rsvp.status = RSVP_WAITLISTED
        counters.move_rsvp_counts(rsvp.rally_id, waitlisted_people=people, waitlisted_parties=1)
    rsvp.guests = guests
    rsvp.status_at = utcnow()


def take_place(rsvp: Rsvp, locale: str = "") -> Rsvp:
    """From the ticket link: confirm an unconfirmed RSVP or bring back a cancelled one, through the normal
    capacity decision (going if the party fits, else the end of the waitlist). A second click changes nothing.
    ``locale``: the language of the page the click came from, saved as the new supporter's."""
    problem = rally_open_problem(rsvp.rally)
    if problem:
        raise RsvpClosed(problem)
    with atomic():
        counters.lock_rally(rsvp.rally_id)
        rsvp = db.session.get(Rsvp, rsvp.id, populate_existing=True)
        if rsvp.status not in (RSVP_CANCELLED, RSVP_UNCONFIRMED):
            return rsvp
        _rejoin(rsvp, min(rsvp.guests, rsvp.rally.max_guests))
        if rsvp.supporter_id is None and rsvp.email:
            # The mailbox's owner has now shown up: only now is this a supporter of the campaign.
            link_supporter(rsvp.id, rsvp.rally.campaign_id, dict(email=rsvp.email, name=rsvp.name, phone=rsvp.phone,
                                                                 postal_code=rsvp.postal_code, locale=locale,
                                                                 status=rsvp.status))
        _touch(rsvp, counters.next_change_number(rsvp.rally_id))
        db.session.flush()
        if rsvp.email:
            notices.ticket_email(rsvp, rsvp.status)
    db.session.refresh(rsvp)
    return rsvp


def _change_party(rsvp: Rsvp, guests: int) -> None:
    """Move the counters for a new party size; promotes the waitlist when places free up."""
    delta = guests - rsvp.guests
    if delta == 0:
        return
    if delta < 0 and (problem := _inside_problem(rsvp.id, guests)):
        raise problem
    if rsvp.status == RSVP_GOING:
        if delta > 0 and not counters.take_places(rsvp.rally_id, delta, delta, parties=0):
            rally = db.session.get(Rally, rsvp.rally_id, populate_existing=True)
            room = max(0, (rally.capacity or 0) - rally.going_people)
            raise NotEnoughRoom(ngettext(
                "There is room for %(num)d more person only, so your party stays at %(party)d.",
                "There is room for %(num)d more people only, so your party stays at %(party)d.",
                room, party=rsvp.party_size))
        if delta < 0:
            counters.move_rsvp_counts(rsvp.rally_id, going_people=delta, guests_count=delta)
        rsvp.guests = guests
        if delta < 0:
            db.session.flush()
            promote_waitlist(db.session.get(Rally, rsvp.rally_id))
    elif rsvp.status == RSVP_WAITLISTED:
        counters.move_rsvp_counts(rsvp.rally_id, waitlisted_people=delta)
        rsvp.guests = guests
        db.session.flush()
        promote_waitlist(db.session.get(Rally, rsvp.rally_id))


def change_guests(rsvp: Rsvp, guests: int) -> Rsvp:
    """Change a party's size from the ticket page (its own write unit)."""
    rally = rsvp.rally
    if rsvp.status == RSVP_CANCELLED:
        raise RsvpError(gettext("This RSVP is cancelled."))
    problem = rally_open_problem(rally)
    if problem:
        raise RsvpClosed(problem)
    if guests < 0 or guests > rally.max_guests:
        raise RsvpError(ngettext("You can bring between 0 and %(num)d guest.",
                                "You can bring between 0 and %(num)d guests.", rally.max_guests))
    with atomic():
        if problem := _inside_problem(rsvp.id, guests):
            raise problem
        counters.lock_rally(rsvp.rally_id)
        rsvp = db.session.get(Rsvp, rsvp.id, populate_existing=True)
        if rsvp.status == RSVP_CANCELLED:
            raise RsvpError(gettext("This RSVP is cancelled."))
        _change_party(rsvp, guests)
        _touch(rsvp, counters.next_change_number(rsvp.rally_id))
    return rsvp


def cancel_rsvp(rsvp: Rsvp, *, notify: bool = True) -> bool:
    """Cancel an RSVP, put its ticket on the revocation list and promote the waitlist; False if already cancelled.

    Refused (AlreadyInside) once anyone of the party was admitted: they stand in those places, so
    cancelling would hand them to the waitlist a second time. A supervisor's undo at the door
    comes first.
    """
    with atomic():
        if not _hold_admitted(rsvp.id, 0):
            if db.session.scalar(sa.select(rsvp_t.c.status).where(rsvp_t.c.id == rsvp.id)) == RSVP_CANCELLED:
                return False
            raise AlreadyInside(gettext("You're already inside: people of this party were admitted at the door, so "
                                        "the RSVP can no longer be cancelled. A door supervisor can help."))
        counters.lock_rally(rsvp.rally_id)
        rsvp = db.session.get(Rsvp, rsvp.id, populate_existing=True)
        if rsvp.status == RSVP_CANCELLED:
            return False
        was = rsvp.status
        counters.left_status(rsvp.rally_id, was, rsvp.party_size)
        rsvp.status = RSVP_CANCELLED
        rsvp.status_at = utcnow()
        _touch(rsvp, counters.next_change_number(rsvp.rally_id))
        db.session.flush()
        if notify and rsvp.email:
            notices.cancellation_email(rsvp)
        if was == RSVP_GOING:
            promote_waitlist(db.session.get(Rally, rsvp.rally_id))
    return True


def promote_waitlist(rally: Rally) -> list[Rsvp]:
    """Move waitlisted parties to going, oldest first, skipping (never splitting) parties that do not fit.

    Runs in the caller's transaction (call it inside ``atomic()``, e.g. right after
    raising a rally's capacity); emails each promoted person.
    """
    counters.lock_rally(rally.id)
    db.session.refresh(rally)
    if rally.is_cancelled or rally.waitlisted_parties <= 0:
        return []
    room = None if rally.capacity is None else rally.capacity - rally.going_people
    if room is not None and room <= 0:
        return []
    promoted: list[Rsvp] = []
    q = (
        sa.select(Rsvp).where(Rsvp.rally_id == rally.id, Rsvp.status == RSVP_WAITLISTED)
        .order_by(Rsvp.status_at, Rsvp.id)
    )
    if room is not None:
        q = q.where(Rsvp.guests + 1 <= room)  # only parties that could fit are read
    seq = counters.next_change_number(rally.id)
    for rsvp in db.session.scalars(q).all():
        people = rsvp.party_size
        # take_places decides whether the party fits; one that does not is skipped, not split, and a
        # smaller party behind it may still fit.
        if not counters.take_places(rally.id, people, rsvp.guests):
            continue
        counters.move_rsvp_counts(rally.id, waitlisted_people=-people, waitlisted_parties=-1)
        rsvp.status = RSVP_GOING
        rsvp.status_at = utcnow()
        _touch(rsvp, seq)
        promoted.append(rsvp)
    db.session.flush()
    for rsvp in promoted:
        if rsvp.email:
            notices.ticket_email(rsvp, "promoted")
    return promoted


def record_reminder_answer(rsvp: Rsvp, answer: str) -> str:
    """Store 'yes' or 'no' from the reminder; 'no' cancels the RSVP. Returns the answer stored."""
    if answer not in ("yes", "no"):
        raise RsvpError(gettext("Unknown answer."))
    if answer == "no":
        cancel_rsvp(rsvp)
    with atomic():
        db.session.execute(rsvp_t.update().where(rsvp_t.c.id == rsvp.id).values(reminder_answer=answer))
    return answer
