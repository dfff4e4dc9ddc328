"""Reseal every secret stored in the database under the current KEK (``flask rotate-ticket-kek``)."""

from __future__ import annotations

import sqlalchemy as sa

from ..database import atomic
from ..extensions import db
from ..models import Rally, Rsvp
from . import sealing
from .link_secrets import open_page_token, seal_page_token
from .tickets import open_signing_key, seal_signing_key

rally_t = Rally.__table__
rsvp_t = Rsvp.__table__
#: A raw Ed25519 private key, as stored before keys were sealed.
RAW_KEY_BYTES = 32


def reseal_signing_keys(batch_size: int = 500) -> int:
    """Reseal rally signing keys not yet under the current KEK (raw ones too); returns how many changed.

    Idempotent and resumable: each batch is its own transaction, and a key already current is skipped.
    """
    changed, after = 0, 0
    while True:
        with atomic():
            rows = db.session.execute(
                sa.select(rally_t.c.id, rally_t.c.signing_key).where(rally_t.c.id > after)
                .order_by(rally_t.c.id).limit(batch_size)).all()
            updates = []
            for rally_id, stored in rows:
                if not stored or sealing.is_current(stored):
                    continue
                stored = bytes(stored)
                raw = stored if len(stored) == RAW_KEY_BYTES else open_signing_key(rally_id, stored)
                updates.append({"b_id": rally_id, "b_old": stored, "b_new": seal_signing_key(rally_id, raw)})
            if updates:
                # Only where the key is still what was read (a concurrent run may have resealed it).
                db.session.execute(
                    rally_t.update().where(rally_t.c.id == sa.bindparam("b_id"),
                                           rally_t.c.signing_key == sa.bindparam("b_old"))
                    .values(signing_key=sa.bindparam("b_new")), updates)
        changed += len(updates)
        if len(rows) < batch_size:
            return changed
        after = rows[-1][0]


def reseal_page_tokens(batch_size: int = 2000) -> int:
    """Reseal ticket-page tokens not yet under the current KEK; returns how many changed (idempotent)."""
    changed, after = 0, 0
    while True:
        with atomic():
            rows = db.session.execute(
                sa.select(rsvp_t.c.id, rsvp_t.c.token_hash, rsvp_t.c.token_sealed).where(rsvp_t.c.id > after)
                .order_by(rsvp_t.c.id).limit(batch_size)).all()
            updates = [
                {"b_id": rsvp_id, "b_hash": token_hash,
                 "b_new": seal_page_token(open_page_token(token_hash, sealed)).token_sealed}
                for rsvp_id, token_hash, sealed in rows if not sealing.is_current(sealed)
            ]
            if updates:
                db.session.execute(
                    rsvp_t.update().where(rsvp_t.c.id == sa.bindparam("b_id"),
                                          rsvp_t.c.token_hash == sa.bindparam("b_hash"))
                    .values(token_sealed=sa.bindparam("b_new")), updates)
        changed += len(updates)
        if len(rows) < batch_size:
            return changed
        after = rows[-1][0]
