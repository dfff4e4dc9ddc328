"""door sync (issue 10): change numbers from the database, not the clock

RSVP and check-in ``changed_seq`` values were microseconds of the wall clock, ordered across
workers and hosts only while their clocks agreed. They now come from the ``change_number``
sequence (PostgreSQL) or the one-row ``change_counter`` table (SQLite, which has no sequences;
the table exists on both engines so the schema is the same). Both start above every number
already stored, so cursors that devices hold stay below every new change.

Revision ID: c4a9e2f1b3d7
Revises: 5e11ed7a0c13
Create Date: 2026-12-05 11:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c4a9e2f1b3d7'
down_revision = '5e11ed7a0c13'
branch_labels = None
depends_on = None


def upgrade():
    counter = op.create_table(
        'change_counter',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    conn = op.get_bind()
    last = max(
        conn.execute(sa.text("SELECT COALESCE(MAX(changed_seq), 0) FROM rsvp")).scalar() or 0,
        conn.execute(sa.text("SELECT COALESCE(MAX(changed_seq), 0) FROM checkin")).scalar() or 0,
    )
    op.bulk_insert(counter, [{'id': 1, 'n': last}])
    if conn.dialect.name == 'postgresql':
        op.execute(sa.schema.CreateSequence(sa.Sequence('change_number', start=last + 1)))


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(sa.schema.DropSequence(sa.Sequence('change_number')))
    op.drop_table('change_counter')
