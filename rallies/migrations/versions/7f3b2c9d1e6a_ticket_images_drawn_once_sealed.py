"""ticket images: each ticket's QR PNG drawn once, stored sealed

The ticket email and the ticket's image URL used to draw the same QR code each; whichever needs it
first now stores it (sealed with the KEK, like the signing keys and page tokens) and the other reads
it. Nothing to backfill: images are drawn when first needed.

Revision ID: 7f3b2c9d1e6a
Revises: c4a9e2f1b3d7
Create Date: 2026-12-05 13:03:15.899944

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7f3b2c9d1e6a'
down_revision = 'c4a9e2f1b3d7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'ticket_image',
        sa.Column('rsvp_id', sa.Integer(), nullable=False),
        sa.Column('png_sealed', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['rsvp_id'], ['rsvp.id'], name=op.f('fk_ticket_image_rsvp_id_rsvp'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('rsvp_id', name=op.f('pk_ticket_image')),
    )


def downgrade():
    op.drop_table('ticket_image')
