"""monitor alerts, prometheus kpi sources, pipeline heartbeats

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 04:20:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import storage.types


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('kpi_measurements', schema=None) as batch_op:
        batch_op.alter_column('source', existing_type=sqlmodel.sql.sqltypes.AutoString(length=10),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=16), existing_nullable=False)
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('monitor_links', sa.Text(), nullable=True))
    op.create_table(
        'integration_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash', name='uq_integration_token_hash'),
    )
    op.create_table(
        'monitor_alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('initiative_id', sa.Integer(), nullable=False),
        sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column('alertname', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('first_seen_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_note_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('notes', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id']),
        sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_monitor_alert_fingerprint', 'monitor_alerts', ['initiative_id', 'fingerprint'])
    op.create_table(
        'kpi_sources',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('initiative_id', sa.Integer(), nullable=False),
        sa.Column('kpi', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('query', sa.Text(), nullable=False),
        sa.Column('interval_minutes', sa.Integer(), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('next_run_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_run_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_value', sa.Float(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('last_error_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('initiative_id', 'kpi', name='uq_kpi_source'),
    )
    op.create_index('ix_kpi_source_due', 'kpi_sources', ['next_run_at'])
    op.create_table(
        'pipeline_heartbeats',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('initiative_id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('every_seconds', sa.Integer(), nullable=False),
        sa.Column('grace_seconds', sa.Integer(), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_ping_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('due_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('misses', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id']),
        sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash', name='uq_heartbeat_token_hash'),
        sa.UniqueConstraint('initiative_id', 'name', name='uq_heartbeat_name'),
    )
    op.create_index('ix_heartbeat_due', 'pipeline_heartbeats', ['due_at'])


def downgrade() -> None:
    op.drop_index('ix_heartbeat_due', table_name='pipeline_heartbeats')
    op.drop_table('pipeline_heartbeats')
    op.drop_index('ix_kpi_source_due', table_name='kpi_sources')
    op.drop_table('kpi_sources')
    op.drop_index('ix_monitor_alert_fingerprint', table_name='monitor_alerts')
    op.drop_table('monitor_alerts')
    op.drop_table('integration_tokens')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('monitor_links')
    with op.batch_alter_table('kpi_measurements', schema=None) as batch_op:
        batch_op.alter_column('source', existing_type=sqlmodel.sql.sqltypes.AutoString(length=16),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=10), existing_nullable=False)
