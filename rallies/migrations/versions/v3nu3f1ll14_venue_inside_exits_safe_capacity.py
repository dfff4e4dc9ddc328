"""door (issue 14): exits, inside now, safe capacity and an overflow area

A check-in gets a direction (entry or exit, as pretix's check-in type) and a re-entry mark;
tickets keep how many of the party are outside again and in the overflow area; the rally keeps
who is inside now (venue and overflow), its fire-code limit, its re-entry policy and its
overflow area; arrival minutes count exits and re-entries for the occupancy curve.

Revision ID: v3nu3f1ll14
Revises: 14v0lunteers
Create Date: 2026-12-05 22:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'v3nu3f1ll14'
down_revision = '14v0lunteers'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rally', schema=None) as batch_op:
        batch_op.add_column(sa.Column('safe_capacity', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reentry_allowed', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('overflow_name', sa.String(length=80), server_default='', nullable=False))
        batch_op.add_column(sa.Column('overflow_capacity', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('inside_people', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('overflow_people', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('rsvp', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outside_people', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('overflow_people', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.add_column(sa.Column('direction', sa.String(length=5), server_default='entry', nullable=False))
        batch_op.add_column(sa.Column('reentry', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('overflow_people', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('arrival_minute', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exits', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('reentries', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('overflow', sa.Integer(), server_default='0', nullable=False))
    # Before exits existed, everyone admitted is inside.
    op.execute("UPDATE rally SET inside_people = checked_in_people")


def downgrade():
    with op.batch_alter_table('arrival_minute', schema=None) as batch_op:
        batch_op.drop_column('overflow')
        batch_op.drop_column('reentries')
        batch_op.drop_column('exits')
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.drop_column('overflow_people')
        batch_op.drop_column('reentry')
        batch_op.drop_column('direction')
    with op.batch_alter_table('rsvp', schema=None) as batch_op:
        batch_op.drop_column('overflow_people')
        batch_op.drop_column('outside_people')
    with op.batch_alter_table('rally', schema=None) as batch_op:
        batch_op.drop_column('overflow_people')
        batch_op.drop_column('inside_people')
        batch_op.drop_column('overflow_capacity')
        batch_op.drop_column('overflow_name')
        batch_op.drop_column('reentry_allowed')
        batch_op.drop_column('safe_capacity')
