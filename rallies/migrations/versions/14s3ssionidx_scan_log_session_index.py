"""door: index scan_log.session_id

A device's scans are read by its session: the walk-in allowance per device on every walk-in,
reduce, and a volunteer's scan log and arrival curve (issue 14). Without an index each of these
read every rally's scan log, and PostgreSQL scanned it on every door session deleted.

Revision ID: 14s3ssionidx
Revises: v3nu3f1ll14
Create Date: 2026-12-06 01:40:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '14s3ssionidx'
down_revision = 'v3nu3f1ll14'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('scan_log', schema=None) as batch_op:
        batch_op.create_index('ix_scan_log_session', ['session_id'], unique=False)


def downgrade():
    with op.batch_alter_table('scan_log', schema=None) as batch_op:
        batch_op.drop_index('ix_scan_log_session')
