"""kpi evidence: sign-offs bound to the criteria they approve

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 04:20:00

Sign-offs a later change voided (a readiness dimension set to not-ready, a required role vacated, the baseline
superseded): one row per voided sign-off, bound into the audit chain; the sign-off itself is never changed.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import storage.types


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'signoff_voids',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('initiative_id', sa.Integer(), nullable=False),
        sa.Column('signoff_id', sa.Integer(), nullable=False),
        sa.Column('cause', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('voided_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('voided_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id']),
        sa.ForeignKeyConstraint(['signoff_id'], ['signoffs.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('signoff_id', name='uq_signoff_void'),
    )
    with op.batch_alter_table('signoff_voids', schema=None) as batch_op:
        batch_op.create_index('ix_signoff_void_initiative', ['initiative_id', 'voided_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('signoff_voids', schema=None) as batch_op:
        batch_op.drop_index('ix_signoff_void_initiative')
    op.drop_table('signoff_voids')
