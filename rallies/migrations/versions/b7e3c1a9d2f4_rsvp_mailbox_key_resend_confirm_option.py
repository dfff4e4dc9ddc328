"""rsvp.email_key (one place per mailbox per rally), rsvp.ticket_resent_at, rally.confirm_by_email

The unique index (rally_id, email) becomes (rally_id, email_key), where email_key is the
canonical mailbox (mail.addresses.canonical_email: lower case, no +tag, no dots at Gmail,
googlemail.com as gmail.com). Backfill: existing RSVPs get their canonical key; when a rally
already holds two spellings of one mailbox, the oldest RSVP keeps the canonical key and the
later ones keep their own (already unique) address. That address can never equal a canonical
key (it has a +tag, a Gmail dot or googlemail.com), so the new index always builds.
SQLite rebuilds the rsvp table for this; migrations/env.py turns foreign keys off first.

Revision ID: b7e3c1a9d2f4
Revises: 069518cfc091
Create Date: 2026-12-05 10:50:00

"""
from alembic import op
import sqlalchemy as sa

import rallies.models.types


# revision identifiers, used by Alembic.
revision = 'b7e3c1a9d2f4'
down_revision = '069518cfc091'
branch_labels = None
depends_on = None


def _canonical(email):
    """A frozen copy of mail.addresses.canonical_email as of this revision."""
    email = (email or "").strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local or "@" in local:
        return email
    local = local.split("+", 1)[0] or local
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", "") or local, "gmail.com"
    return f"{local}@{domain}"


def upgrade():
    with op.batch_alter_table('rally', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirm_by_email', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('rsvp', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_key', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('ticket_resent_at', rallies.models.types.UTCDateTime(), nullable=True))

    conn = op.get_bind()
    rsvp = sa.table('rsvp', sa.column('id', sa.Integer), sa.column('rally_id', sa.Integer),
                    sa.column('email', sa.String), sa.column('email_key', sa.String))
    taken = set()
    rows = conn.execute(sa.select(rsvp.c.id, rsvp.c.rally_id, rsvp.c.email)
                        .where(rsvp.c.email.is_not(None)).order_by(rsvp.c.id))
    for rsvp_id, rally_id, email in rows.all():
        key = _canonical(email)
        if (rally_id, key) in taken:
            key = email  # a second spelling of a mailbox already here: keep it apart, as it was
        taken.add((rally_id, key))
        conn.execute(rsvp.update().where(rsvp.c.id == rsvp_id).values(email_key=key))

    with op.batch_alter_table('rsvp', schema=None) as batch_op:
        batch_op.drop_constraint('uq_rsvp_rally_id', type_='unique')
        batch_op.create_unique_constraint('uq_rsvp_rally_email_key', ['rally_id', 'email_key'])


def downgrade():
    with op.batch_alter_table('rsvp', schema=None) as batch_op:
        batch_op.drop_constraint('uq_rsvp_rally_email_key', type_='unique')
        batch_op.create_unique_constraint('uq_rsvp_rally_id', ['rally_id', 'email'])
        batch_op.drop_column('ticket_resent_at')
        batch_op.drop_column('email_key')

    with op.batch_alter_table('rally', schema=None) as batch_op:
        batch_op.drop_column('confirm_by_email')
