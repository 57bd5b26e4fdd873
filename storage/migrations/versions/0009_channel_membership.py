"""channel membership

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 02:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import storage.types


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Whether Steward can use each initiative's channel; existing ones are assumed joined until Slack says not.
    with op.batch_alter_table('initiatives', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel_state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False,
                                      server_default='member'))
        batch_op.add_column(sa.Column('channel_state_at', storage.types.UTCDateTime(timezone=True), nullable=True))
    # Answers to clicks and form submissions go to the action's response_url (no membership needed).
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('reply_url')
    with op.batch_alter_table('initiatives', schema=None) as batch_op:
        batch_op.drop_column('channel_state_at')
        batch_op.drop_column('channel_state')
