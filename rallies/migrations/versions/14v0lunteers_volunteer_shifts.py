"""volunteer shifts and sign-ups; door link opening time and holder (issue 14)

Shifts at a rally's doors with a kept count of places taken; volunteers' sign-ups, each with its own
door link. A door link may open only from ``not_before`` (a volunteer's shift window), and names the
devices it opens after its ``holder_name``.

Revision ID: 14v0lunteers
Revises: 13b2smsconsent
Create Date: 2026-12-05 21:57:41.728446

"""
import sqlalchemy as sa
from alembic import op

import rallies.models.types


# revision identifiers, used by Alembic.
revision = '14v0lunteers'
down_revision = '13b2smsconsent'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('volunteer_shift',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rally_id', sa.Integer(), nullable=False),
    sa.Column('door_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', rallies.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', rallies.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('slots', sa.Integer(), nullable=False),
    sa.Column('filled', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('notes', sa.String(length=500), nullable=False),
    sa.Column('created_at', rallies.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('filled >= 0 AND filled <= slots', name=op.f('ck_volunteer_shift_filled_within_slots')),
    sa.ForeignKeyConstraint(['door_id'], ['door.id'], name=op.f('fk_volunteer_shift_door_id_door'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rally_id'], ['rally.id'], name=op.f('fk_volunteer_shift_rally_id_rally'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_shift'))
    )
    with op.batch_alter_table('volunteer_shift', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_shift_door_id'), ['door_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteer_shift_rally_id'), ['rally_id'], unique=False)

    op.create_table('volunteer_signup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=False),
    sa.Column('rally_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('email_key', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('token_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=True),
    sa.Column('link_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('created_at', rallies.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', rallies.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_day_at', rallies.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_soon_at', rallies.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['link_id'], ['door_link.id'], name=op.f('fk_volunteer_signup_link_id_door_link'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rally_id'], ['rally.id'], name=op.f('fk_volunteer_signup_rally_id_rally'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shift_id'], ['volunteer_shift.id'], name=op.f('fk_volunteer_signup_shift_id_volunteer_shift'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_signup')),
    sa.UniqueConstraint('shift_id', 'email_key', name='uq_volunteer_signup_shift_email_key'),
    sa.UniqueConstraint('token_hash', name=op.f('uq_volunteer_signup_token_hash'))
    )
    with op.batch_alter_table('volunteer_signup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_signup_link_id'), ['link_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteer_signup_rally_id'), ['rally_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteer_signup_shift_id'), ['shift_id'], unique=False)

    with op.batch_alter_table('door_link', schema=None) as batch_op:
        batch_op.add_column(sa.Column('not_before', rallies.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('holder_name', sa.String(length=80), server_default='', nullable=False))



def downgrade():
    with op.batch_alter_table('door_link', schema=None) as batch_op:
        batch_op.drop_column('holder_name')
        batch_op.drop_column('not_before')

    with op.batch_alter_table('volunteer_signup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_signup_shift_id'))
        batch_op.drop_index(batch_op.f('ix_volunteer_signup_rally_id'))
        batch_op.drop_index(batch_op.f('ix_volunteer_signup_link_id'))

    op.drop_table('volunteer_signup')
    with op.batch_alter_table('volunteer_shift', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_shift_rally_id'))
        batch_op.drop_index(batch_op.f('ix_volunteer_shift_door_id'))

    op.drop_table('volunteer_shift')
