"""user.email_verified_at: invites bound to an address need a verified address (issue 9, item 14)

Existing accounts are left unverified on purpose: sign-up never proved the address, so an
account made with someone else's address must not keep the power to take invites sent to it.
Nothing else waits on verification; owners of existing accounts confirm with one click from
the account page (or by resetting their password) the first time an address-bound invite asks.

Revision ID: a1e9c0de7f14
Revises: b7e3c1a9d2f4
Create Date: 2026-12-05 10:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import rallies.models.types


# revision identifiers, used by Alembic.
revision = 'a1e9c0de7f14'
down_revision = 'b7e3c1a9d2f4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified_at', rallies.models.types.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('email_verified_at')
