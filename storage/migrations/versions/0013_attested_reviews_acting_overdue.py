"""attested reviews, acting for vacant roles, overdue escalations and stage overruns

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 04:20:00
"""
from datetime import timedelta

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import storage.types


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A stage's overrun of the framework's timeline is told once: the moment it falls due, cleared once sent.
    with op.batch_alter_table('initiatives', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overrun_at', storage.types.UTCDateTime(timezone=True), nullable=True))
    # Reviews that fell due before an import (attested by an admin), completed by an admin acting for a
    # vacant role, and escalated once when overdue.
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('before_steward', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('attested_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('acting_for', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_review_overdue', ['status', 'escalated_at', 'due_at'], unique=False)
    _schedule_overruns(op.get_bind())


# The framework's timeline per stage, in days from the day the stage began (bot.domain.gates.TIMELINE at 0013).
_STAGE_DAYS = {'readiness': 28, 'handoff': 42, 'launch': 49}


def _schedule_overruns(connection) -> None:
    """Initiatives already in a stage get its overrun moment: told once at the first sweep if already overrun."""
    initiatives = sa.table('initiatives', sa.column('id'), sa.column('stage'), sa.column('archived'),
                           sa.column('stage_entered_at', storage.types.UTCDateTime(timezone=True)),
                           sa.column('overrun_at', storage.types.UTCDateTime(timezone=True)))
    rows = connection.execute(sa.select(initiatives.c.id, initiatives.c.stage, initiatives.c.stage_entered_at)
                              .where(initiatives.c.archived == sa.false())).all()
    for row in rows:
        days = _STAGE_DAYS.get(row.stage)
        if days is not None and row.stage_entered_at is not None:
            connection.execute(initiatives.update().where(initiatives.c.id == row.id)
                               .values(overrun_at=row.stage_entered_at + timedelta(days=days + 1)))


def downgrade() -> None:
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_review_overdue')
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('acting_for')
        batch_op.drop_column('attested_on')
        batch_op.drop_column('before_steward')
    with op.batch_alter_table('initiatives', schema=None) as batch_op:
        batch_op.drop_column('overrun_at')
