"""thresholds in force as rows, written when a baseline is approved

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 02:00:00
"""
import json
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import storage.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('thresholds_in_force',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('signoff_id', sa.Integer(), nullable=False),
    sa.Column('kpi', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('in_force_from', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id'], ),
    sa.ForeignKeyConstraint(['signoff_id'], ['signoffs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('signoff_id', 'kpi', name='uq_threshold_in_force')
    )
    with op.batch_alter_table('thresholds_in_force', schema=None) as batch_op:
        batch_op.create_index('ix_threshold_in_force_initiative', ['initiative_id', 'signoff_id'], unique=False)

    # Approved baselines signed before this revision kept their thresholds only in the evidence JSON.
    connection = op.get_bind()
    signoffs = connection.execute(sa.text(
        "SELECT id, team_id, initiative_id, signed_at, evidence FROM signoffs "
        "WHERE subject = 'baseline' AND decision = 'approve' ORDER BY id")).fetchall()
    table = sa.table('thresholds_in_force', sa.column('team_id'), sa.column('initiative_id'),
                     sa.column('signoff_id'), sa.column('kpi'), sa.column('value'),
                     sa.column('in_force_from', storage.types.UTCDateTime(timezone=True)))
    for signoff_id, team_id, initiative_id, signed_at, evidence in signoffs:
        thresholds = json.loads(evidence).get('thresholds') or {}
        if isinstance(signed_at, str):  # SQLite hands raw text back to a plain SELECT
            signed_at = datetime.fromisoformat(signed_at)
        signed = signed_at.replace(tzinfo=UTC) if signed_at.tzinfo is None else signed_at.astimezone(UTC)
        rows = [{'team_id': team_id, 'initiative_id': initiative_id, 'signoff_id': signoff_id, 'kpi': kpi,
                 'value': float(value), 'in_force_from': signed} for kpi, value in thresholds.items()]
        if rows:
            op.bulk_insert(table, rows)


def downgrade() -> None:
    with op.batch_alter_table('thresholds_in_force', schema=None) as batch_op:
        batch_op.drop_index('ix_threshold_in_force_initiative')
    op.drop_table('thresholds_in_force')
