"""messages, SMS consent and languages (issue 13)

Organizer messages (campaign_message) and their outbox rows (channel, campaign_message_id); the
supporter's language, campaign opt-out and SMS consent; a rally's second-language text, .ics
SEQUENCE and after-rally switches; a campaign's Reply-To address and default language.

Revision ID: 13a1messages
Revises: f6d1d00rt0ta
Create Date: 2026-12-05 18:45:56.036429

"""
import sqlalchemy as sa
from alembic import op

import rallies.models.types


# revision identifiers, used by Alembic.
revision = '13a1messages'
down_revision = 'f6d1d00rt0ta'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaign_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('rally_id', sa.Integer(), nullable=False),
    sa.Column('segment', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=5), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('sms_body', sa.Text(), nullable=False),
    sa.Column('translations', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('send_at', rallies.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('queued_at', rallies.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recipient_count', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('sent_by_id', sa.Integer(), nullable=True),
    sa.Column('sent_by_email', sa.String(length=254), nullable=False),
    sa.Column('created_at', rallies.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_message_campaign_id_campaign'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_campaign_message_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rally_id'], ['rally.id'], name=op.f('fk_campaign_message_rally_id_rally'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sent_by_id'], ['user.id'], name=op.f('fk_campaign_message_sent_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_message'))
    )
    with op.batch_alter_table('campaign_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_message_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index('ix_campaign_message_due', ['status', 'send_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_message_rally_id'), ['rally_id'], unique=False)

    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_email', sa.String(length=254), server_default='', nullable=False))
        batch_op.add_column(sa.Column('default_locale', sa.String(length=10), server_default='en', nullable=False))

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=5), server_default='email', nullable=False))
        batch_op.add_column(sa.Column('campaign_message_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_outbox_campaign_message_status', ['campaign_message_id', 'status'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_message_campaign_message_id_campaign_message'), 'campaign_message', ['campaign_message_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('rally', schema=None) as batch_op:
        batch_op.add_column(sa.Column('translations', sa.JSON(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('ics_sequence', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('send_thank_you', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('send_missed_you', sa.Boolean(), server_default=sa.true(), nullable=False))

    with op.batch_alter_table('supporter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=10), server_default='', nullable=False))
        batch_op.add_column(sa.Column('email_opt_out_at', rallies.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sms_opt_in_at', rallies.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sms_consent_text', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('sms_consent_ip', sa.String(length=45), server_default='', nullable=False))
        batch_op.add_column(sa.Column('sms_stopped_at', rallies.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_supporter_phone', ['phone'], unique=False)



def downgrade():
    with op.batch_alter_table('supporter', schema=None) as batch_op:
        batch_op.drop_index('ix_supporter_phone')
        batch_op.drop_column('sms_stopped_at')
        batch_op.drop_column('sms_consent_ip')
        batch_op.drop_column('sms_consent_text')
        batch_op.drop_column('sms_opt_in_at')
        batch_op.drop_column('email_opt_out_at')
        batch_op.drop_column('locale')

    with op.batch_alter_table('rally', schema=None) as batch_op:
        batch_op.drop_column('send_missed_you')
        batch_op.drop_column('send_thank_you')
        batch_op.drop_column('ics_sequence')
        batch_op.drop_column('translations')

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_message_campaign_message_id_campaign_message'), type_='foreignkey')
        batch_op.drop_index('ix_outbox_campaign_message_status')
        batch_op.drop_column('campaign_message_id')
        batch_op.drop_column('channel')

    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('default_locale')
        batch_op.drop_column('contact_email')

    with op.batch_alter_table('campaign_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_message_rally_id'))
        batch_op.drop_index('ix_campaign_message_due')
        batch_op.drop_index(batch_op.f('ix_campaign_message_campaign_id'))

    op.drop_table('campaign_message')
