"""SMS consent waiting for an RSVP's confirmation (issue 13 fix)

An RSVP to a confirm-by-email rally has no supporter until its mailbox confirms; the consent
ticked on its form waits in rsvp_sms_consent and moves onto the supporter at confirmation.

Revision ID: 13b2smsconsent
Revises: 13a1messages
Create Date: 2026-12-05 22:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import rallies.models.types


# revision identifiers, used by Alembic.
revision = '13b2smsconsent'
down_revision = '13a1messages'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rsvp_sms_consent',
    sa.Column('rsvp_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.Column('agreed_at', rallies.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['rsvp_id'], ['rsvp.id'], name=op.f('fk_rsvp_sms_consent_rsvp_id_rsvp'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('rsvp_id', name=op.f('pk_rsvp_sms_consent'))
    )


def downgrade():
    op.drop_table('rsvp_sms_consent')
