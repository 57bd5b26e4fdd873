"""controlled rollout, fallback process, launch communication plan

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 05:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import storage.types


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rollout_steps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('initiative_id', sa.Integer(), nullable=False),
        sa.Column('percent', sa.Integer(), nullable=False),
        sa.Column('previous', sa.Integer(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('requested_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('signoff_id', sa.Integer(), nullable=True),
        sa.Column('applied_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('withdrawn_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('rollout_steps', schema=None) as batch_op:
        batch_op.create_index('ix_rollout_initiative', ['initiative_id', 'applied_at'], unique=False)

    op.create_table(
        'fallback_processes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('initiative_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('recorded_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('fallback_processes', schema=None) as batch_op:
        batch_op.create_index('ix_fallback_initiative', ['initiative_id', 'recorded_at'], unique=False)

    op.create_table(
        'comms_tasks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('initiative_id', sa.Integer(), nullable=False),
        sa.Column('task', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('done_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('done_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column('evidence', sa.Text(), nullable=True),
        sa.Column('slack_channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column('prompted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('closed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('initiative_id', 'task', name='uq_comms_task'),
    )


def downgrade() -> None:
    op.drop_table('comms_tasks')
    with op.batch_alter_table('fallback_processes', schema=None) as batch_op:
        batch_op.drop_index('ix_fallback_initiative')
    op.drop_table('fallback_processes')
    with op.batch_alter_table('rollout_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_rollout_initiative')
    op.drop_table('rollout_steps')
