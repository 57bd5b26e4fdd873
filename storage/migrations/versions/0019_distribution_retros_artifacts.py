"""data distribution comparisons, retrospectives, pilot artifacts

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 05:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import storage.types


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'distribution_comparisons',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('initiative_id', sa.Integer(), nullable=False),
        sa.Column('threshold', sa.Float(), nullable=False),
        sa.Column('pilot_rows', sa.Integer(), nullable=False),
        sa.Column('production_rows', sa.Integer(), nullable=False),
        sa.Column('columns', sa.Integer(), nullable=False),
        sa.Column('shifted', sa.Text(), nullable=False),
        sa.Column('result', sa.Text(), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_distribution_initiative', 'distribution_comparisons', ['initiative_id', 'created_at'])
    op.create_table(
        'pilot_artifacts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('initiative_id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('set_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('set_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_pilot_artifact_initiative', 'pilot_artifacts', ['initiative_id', 'kind', 'set_at'])


def downgrade() -> None:
    op.drop_index('ix_pilot_artifact_initiative', table_name='pilot_artifacts')
    op.drop_table('pilot_artifacts')
    op.drop_index('ix_distribution_initiative', table_name='distribution_comparisons')
    op.drop_table('distribution_comparisons')
