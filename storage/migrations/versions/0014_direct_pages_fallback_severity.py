"""direct pages, fallback and repeat pages, severity changes, page preferences

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 04:20:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import storage.types


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ladder_from', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('exhausted_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('repeats', sa.Integer(), nullable=False, server_default='0'))

    op.create_table('page_preferences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('mode', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('set_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('team_id', 'user_id', 'severity', name='uq_page_preference')
    )
    op.create_table('direct_channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('channel_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('opened_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('team_id', 'user_id', name='uq_direct_channel')
    )
    op.create_table('incident_pages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('via', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('outbox_key', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.Column('channel_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('paged_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('team_id', 'outbox_key', 'user_id', name='uq_incident_page')
    )
    with op.batch_alter_table('incident_pages', schema=None) as batch_op:
        batch_op.create_index('ix_incident_page_user', ['team_id', 'user_id'], unique=False)
        batch_op.create_index('ix_incident_page_incident', ['incident_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incident_pages', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_page_incident')
        batch_op.drop_index('ix_incident_page_user')
    op.drop_table('incident_pages')
    op.drop_table('direct_channels')
    op.drop_table('page_preferences')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('repeats')
        batch_op.drop_column('exhausted_at')
        batch_op.drop_column('ladder_from')
