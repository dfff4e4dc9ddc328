"""door sync: change numbers from a counter on the rally row (rally.change_seq)

Door-sync change numbers came from the ``change_number`` sequence (PostgreSQL) or the one-row
``change_counter`` table (SQLite), taken after the rally's row lock. Devices sync one rally, so
the number now comes from that rally's own row: ``rally.change_seq``, moved by the same UPDATE
that takes the lock (for a check-in, the one that moves the rally's counters), which saves a
statement per change and keeps numbers in commit order per rally. Every rally starts at the
last number handed out, so cursors that devices hold stay below every new change.

Revision ID: e5c0d00r5eq1
Revises: 7f3b2c9d1e6a
Create Date: 2026-12-05 16:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e5c0d00r5eq1'
down_revision = '7f3b2c9d1e6a'
branch_labels = None
depends_on = None

rally = sa.table('rally', sa.column('change_seq', sa.BigInteger))


def upgrade():
    with op.batch_alter_table('rally', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_seq', sa.BigInteger(), nullable=False, server_default='0'))
    conn = op.get_bind()
    last = conn.execute(sa.text("SELECT COALESCE(MAX(n), 0) FROM change_counter")).scalar() or 0
    if conn.dialect.name == 'postgresql':
        seq = conn.execute(sa.text("SELECT last_value, is_called FROM change_number")).one()
        last = max(last, seq.last_value if seq.is_called else seq.last_value - 1)
    conn.execute(rally.update().values(change_seq=last))
    if conn.dialect.name == 'postgresql':
        op.execute(sa.schema.DropSequence(sa.Sequence('change_number')))
    op.drop_table('change_counter')


def downgrade():
    counter = op.create_table(
        'change_counter',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    conn = op.get_bind()
    last = conn.execute(sa.select(sa.func.coalesce(sa.func.max(rally.c.change_seq), 0))).scalar() or 0
    op.bulk_insert(counter, [{'id': 1, 'n': last}])
    if conn.dialect.name == 'postgresql':
        op.execute(sa.schema.CreateSequence(sa.Sequence('change_number', start=last + 1)))
    with op.batch_alter_table('rally', schema=None) as batch_op:
        batch_op.drop_column('change_seq')
