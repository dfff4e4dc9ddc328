"""Reseal every secret stored in the database under the current KEK (``flask rotate-ticket-kek``)."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from ..database import atomic
from ..extensions import db
from ..models import DoorLink, Rally, Rsvp, VolunteerSignup
from ..rsvp.tickets import open_signing_key, seal_signing_key
from . import sealing
from .link_secrets import open_page_token, seal_page_token

rally_t = Rally.__table__
rsvp_t = Rsvp.__table__
signup_t, link_t = VolunteerSignup.__table__, DoorLink.__table__
#: A raw Ed25519 private key, as stored before keys were sealed.
RAW_KEY_BYTES = 32


def reseal_signing_keys(batch_size: int = 500) -> int:
    """Reseal rally signing keys not yet under the current KEK (raw ones too); returns how many changed."""

    def resealed(rally_id, stored):
        if not stored or sealing.is_current(stored):
            return None
        stored = bytes(stored)
        raw = stored if len(stored) == RAW_KEY_BYTES else open_signing_key(rally_id, stored)
        return {"b_id": rally_id, "b_old": stored, "b_new": seal_signing_key(rally_id, raw)}

    update = (rally_t.update().where(rally_t.c.id == sa.bindparam("b_id"),
                                     rally_t.c.signing_key == sa.bindparam("b_old"))
              .values(signing_key=sa.bindparam("b_new")))
    return _in_batches(sa.select(rally_t.c.id, rally_t.c.signing_key), rally_t.c.id, resealed, update, batch_size)


def reseal_page_tokens(batch_size: int = 2000) -> int:
    """Reseal ticket-page tokens not yet under the current KEK; returns how many changed."""

    def resealed(rsvp_id, token_hash, sealed):
        if sealing.is_current(sealed):
            return None
        fresh = seal_page_token(open_page_token(token_hash, sealed)).token_sealed
        return {"b_id": rsvp_id, "b_old": token_hash, "b_new": fresh}

    update = (rsvp_t.update().where(rsvp_t.c.id == sa.bindparam("b_id"),
                                    rsvp_t.c.token_hash == sa.bindparam("b_old"))
              .values(token_sealed=sa.bindparam("b_new")))
    return _in_batches(sa.select(rsvp_t.c.id, rsvp_t.c.token_hash, rsvp_t.c.token_sealed), rsvp_t.c.id, resealed,
                       update, batch_size)


def reseal_volunteer_secrets(batch_size: int = 2000) -> int:
    """Reseal volunteers' page tokens and door-link secrets not yet under the current KEK; returns sign-ups changed."""
    from ..volunteers.door_links import reseal_link_secret

    def resealed(signup_id, token_hash, token_sealed, link_hash, link_sealed):
        token_ok = sealing.is_current(token_sealed)
        link_ok = not link_sealed or not link_hash or sealing.is_current(link_sealed)
        if token_ok and link_ok:
            return None
        return {"b_id": signup_id, "b_old": token_hash,
                "b_token": token_sealed if token_ok else seal_page_token(open_page_token(token_hash, token_sealed)).token_sealed,
                "b_link": link_sealed if link_ok else reseal_link_secret(link_hash, link_sealed)}

    update = (signup_t.update().where(signup_t.c.id == sa.bindparam("b_id"),
                                      signup_t.c.token_hash == sa.bindparam("b_old"))
              .values(token_sealed=sa.bindparam("b_token"), link_sealed=sa.bindparam("b_link")))
    query = (sa.select(signup_t.c.id, signup_t.c.token_hash, signup_t.c.token_sealed, link_t.c.token_hash,
                       signup_t.c.link_sealed)
             .select_from(signup_t.outerjoin(link_t, link_t.c.id == signup_t.c.link_id)))
    return _in_batches(query, signup_t.c.id, resealed, update, batch_size)


def _in_batches(query, id_column, resealed: Callable[..., dict | None], update, batch_size: int) -> int:
    """Walk the rows in id order, one transaction per batch, and apply ``update`` to what ``resealed`` returns.

    Idempotent and resumable: a row already under the current KEK is skipped, and the UPDATE matches
    only rows still holding what was read (a concurrent run may have resealed them).
    """
    changed, after = 0, 0
    while True:
        with atomic():
            rows = db.session.execute(query.where(id_column > after).order_by(id_column).limit(batch_size)).all()
            updates = [found for found in (resealed(*row) for row in rows) if found is not None]
            if updates:
                db.session.execute(update, updates)
        changed += len(updates)
        if len(rows) < batch_size:
            return changed
        after = rows[-1][0]
