"""api tokens, breach incidents, kpi silence

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 21:48:51.190953
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import storage.types


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash', name='uq_token_hash')
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kpi', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))

    with op.batch_alter_table('initiatives', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kpi_silent_after', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_initiative_kpi_silence', ['kpi_silent_after'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('initiatives', schema=None) as batch_op:
        batch_op.drop_index('ix_initiative_kpi_silence')
        batch_op.drop_column('kpi_silent_after')

    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('kpi')

    op.drop_table('api_tokens')
