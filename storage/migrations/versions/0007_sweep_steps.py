"""the latest sweep's failures, step by step, readable by every replica

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 03:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import storage.types


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sweep_steps',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('ran_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('sweep_steps')
