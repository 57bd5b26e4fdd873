"""role cover, incident timeline, paging service targets

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 04:20:00

Covers for an absent role holder (role_covers) and every incident's timeline (incident_timeline).
Deliveries to paging services (PagerDuty, webhooks) are outbox rows: no table of their own.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import storage.types


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_update_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_incident_thread', ['channel_id', 'root_ts'], unique=False)

    op.create_table(
        'role_covers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('initiative_id', sa.Integer(), nullable=False),
        sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('holder_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('cover_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('until', sa.Date(), nullable=False),
        sa.Column('starts_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ends_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('ended_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('ended_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column('end_reason', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('role_covers', schema=None) as batch_op:
        batch_op.create_index('uq_active_cover', ['initiative_id', 'role'], unique=True,
                              sqlite_where=sa.text('ended_at IS NULL'),
                              postgresql_where=sa.text('ended_at IS NULL'))
        batch_op.create_index('ix_cover_ends', ['ended_at', 'ends_at'], unique=False)
        batch_op.create_index('ix_cover_user', ['team_id', 'cover_id'], unique=False)

    op.create_table(
        'incident_timeline',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('message_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('dedup', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('team_id', 'dedup', name='uq_timeline_dedup'),
    )
    with op.batch_alter_table('incident_timeline', schema=None) as batch_op:
        batch_op.create_index('ix_timeline_incident', ['incident_id', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incident_timeline', schema=None) as batch_op:
        batch_op.drop_index('ix_timeline_incident')
    op.drop_table('incident_timeline')
    with op.batch_alter_table('role_covers', schema=None) as batch_op:
        batch_op.drop_index('ix_cover_user')
        batch_op.drop_index('ix_cover_ends')
        batch_op.drop_index('uq_active_cover', sqlite_where=sa.text('ended_at IS NULL'),
                            postgresql_where=sa.text('ended_at IS NULL'))
    op.drop_table('role_covers')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_thread')
        batch_op.drop_column('last_update_at')
