"""outbox delivery (pacing, unknown outcomes, uploads)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 02:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import storage.types


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_attempt_at', storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('unsure_until', storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('file_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('file_id')
        batch_op.drop_column('unsure_until')
        batch_op.drop_column('first_attempt_at')
