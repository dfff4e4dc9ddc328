"""seal rally signing keys with TICKET_KEK; store ticket tokens as hash + sealed copy (issue 9, item 13)

Rally.signing_key: raw 32-byte Ed25519 keys are sealed in place with the app's TICKET_KEK (AES-256-GCM,
bound to the rally id). Rsvp.token is renamed token_hash and holds SHA-256 (URL-safe base64, 43
characters) of the old token; token_sealed holds the token sealed with the KEK, so already-sent
links keep working and new email can still link to the page.

The data step needs the KEK: `flask db upgrade` runs inside the app, which reads TICKET_KEK from the
environment (and refuses the development one in production). Set it before upgrading.

The sealing below is a frozen copy of format 1 in rallies/services/sealing.py, so this revision keeps
working whatever later code does.

Revision ID: 5e11ed7a0c13
Revises: d00r1ssue9a
Create Date: 2026-12-05 10:40:00.000000

"""
import base64
import hashlib
import os

import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

# revision identifiers, used by Alembic.
revision = '5e11ed7a0c13'
down_revision = 'd00r1ssue9a'
branch_labels = None
depends_on = None

BATCH = 1000
rally_t = sa.table('rally', sa.column('id', sa.Integer), sa.column('signing_key', sa.LargeBinary))
rsvp_t = sa.table('rsvp', sa.column('id', sa.Integer), sa.column('token', sa.String),
                  sa.column('token_hash', sa.String), sa.column('token_sealed', sa.LargeBinary))


def _kek(text: str) -> bytes:
    text = (text or '').strip()
    raw = base64.urlsafe_b64decode(text.replace('+', '-').replace('/', '_') + '=' * (-len(text) % 4))
    if len(raw) != 32:
        raise RuntimeError('TICKET_KEK must be base64 of 32 bytes')
    return raw


def _kid(kek: bytes) -> bytes:
    return hashlib.sha256(b'rallies-kek-id:' + kek).digest()[:4]


def _ring() -> tuple[bytes, dict]:
    primary = _kek(current_app.config['TICKET_KEK'])
    ring = {_kid(primary): AESGCM(primary)}
    for part in (current_app.config.get('TICKET_KEK_OLD') or '').split(','):
        if part.strip():
            key = _kek(part)
            ring.setdefault(_kid(key), AESGCM(key))
    return _kid(primary), ring


def _seal(ring, secret: bytes, aad: bytes) -> bytes:
    current, ciphers = ring
    nonce = os.urandom(12)
    return b'\x01' + current + nonce + ciphers[current].encrypt(nonce, secret, aad)


def _open(ring, sealed: bytes, aad: bytes) -> bytes:
    sealed = bytes(sealed)
    return ring[1][sealed[1:5]].decrypt(sealed[5:17], sealed[17:], aad)


def _key_aad(rally_id: int) -> bytes:
    return b'rallies:signing-key:rally:%d' % rally_id


def _token_aad(token_hash: str) -> bytes:
    return b'rallies:page-token:' + token_hash.encode('ascii')


def _token_hash(token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode('utf-8')).digest()).decode('ascii').rstrip('=')


def _batches(conn, table, columns, where=None):
    """Rows of table in id order, BATCH at a time (each batch read before the previous one's updates)."""
    after = 0
    while True:
        stmt = sa.select(table.c.id, *columns).where(table.c.id > after).order_by(table.c.id).limit(BATCH)
        if where is not None:
            stmt = stmt.where(where)
        rows = conn.execute(stmt).all()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def upgrade():
    conn = op.get_bind()
    ring = _ring()
    # Rally keys: sealed in place (the column is already of unbounded binary type on both engines).
    for rows in _batches(conn, rally_t, [rally_t.c.signing_key], rally_t.c.signing_key.is_not(None)):
        updates = [{'b_id': rid, 'b_key': _seal(ring, bytes(key), _key_aad(rid))}
                   for rid, key in rows if len(bytes(key)) == 32]
        if updates:
            conn.execute(rally_t.update().where(rally_t.c.id == sa.bindparam('b_id'))
                         .values(signing_key=sa.bindparam('b_key')), updates)

    # Ticket tokens: rename the column (no table rebuild on SQLite, whose rebuild would fire the
    # foreign keys' ON DELETE actions), then hash the value in place and keep a sealed copy.
    op.execute('ALTER TABLE rsvp RENAME COLUMN token TO token_hash')
    op.add_column('rsvp', sa.Column('token_sealed', sa.LargeBinary(), nullable=False, server_default=''))
    for rows in _batches(conn, rsvp_t, [rsvp_t.c.token_hash]):
        updates = []
        for rid, token in rows:
            token_hash = _token_hash(token)
            updates.append({'b_id': rid, 'b_hash': token_hash,
                            'b_sealed': _seal(ring, token.encode('ascii'), _token_aad(token_hash))})
        conn.execute(rsvp_t.update().where(rsvp_t.c.id == sa.bindparam('b_id'))
                     .values(token_hash=sa.bindparam('b_hash'), token_sealed=sa.bindparam('b_sealed')), updates)
    if conn.dialect.name == 'postgresql':
        # SQLite cannot drop a column default without rebuilding the table; the app always sets the value.
        op.alter_column('rsvp', 'token_sealed', server_default=None)


def downgrade():
    conn = op.get_bind()
    ring = _ring()
    for rows in _batches(conn, rsvp_t, [rsvp_t.c.token_hash, rsvp_t.c.token_sealed]):
        updates = [{'b_id': rid, 'b_token': _open(ring, sealed, _token_aad(token_hash)).decode('ascii')}
                   for rid, token_hash, sealed in rows]
        conn.execute(rsvp_t.update().where(rsvp_t.c.id == sa.bindparam('b_id'))
                     .values(token_hash=sa.bindparam('b_token')), updates)
    op.drop_column('rsvp', 'token_sealed')
    op.execute('ALTER TABLE rsvp RENAME COLUMN token_hash TO token')
    for rows in _batches(conn, rally_t, [rally_t.c.signing_key], rally_t.c.signing_key.is_not(None)):
        updates = [{'b_id': rid, 'b_key': _open(ring, key, _key_aad(rid))}
                   for rid, key in rows if len(bytes(key)) > 32]
        if updates:
            conn.execute(rally_t.update().where(rally_t.c.id == sa.bindparam('b_id'))
                         .values(signing_key=sa.bindparam('b_key')), updates)
