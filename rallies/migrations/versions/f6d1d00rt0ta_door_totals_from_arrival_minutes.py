"""door totals: summed from the arrival minutes instead of kept on the door row

``door.checked_in_people`` and ``door.walkin_people`` held the same numbers as the sums of the
door's ``arrival_minute`` rows, and every admission moved both. The minutes are now the only
record (counters.door_totals sums them by the (rally_id, door_id, minute) index), which saves
an UPDATE of the door row per admission and per undo.

Revision ID: f6d1d00rt0ta
Revises: e5c0d00r5eq1
Create Date: 2026-12-05 16:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f6d1d00rt0ta'
down_revision = 'e5c0d00r5eq1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('door', schema=None) as batch_op:
        batch_op.drop_column('walkin_people')
        batch_op.drop_column('checked_in_people')


def downgrade():
    with op.batch_alter_table('door', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checked_in_people', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('walkin_people', sa.Integer(), nullable=False, server_default='0'))
    op.execute(
        "UPDATE door SET"
        " checked_in_people = COALESCE((SELECT SUM(m.people) FROM arrival_minute m"
        " WHERE m.rally_id = door.rally_id AND m.door_id = door.id), 0),"
        " walkin_people = COALESCE((SELECT SUM(m.walkins) FROM arrival_minute m"
        " WHERE m.rally_id = door.rally_id AND m.door_id = door.id), 0)"
    )
