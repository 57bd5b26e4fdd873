"""review answers, business value commitments

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 05:00:00

Issue 17 points 6 and 7: the answers a review's form recorded (review_answers, one per review) and what
an initiative committed to deliver (business_values, the latest in force).
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import storage.types


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'review_answers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('initiative_id', sa.Integer(), nullable=False),
        sa.Column('review_id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('answers', sa.Text(), nullable=False),
        sa.Column('delivery', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
        sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('recorded_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id']),
        sa.ForeignKeyConstraint(['review_id'], ['reviews.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('review_id', name='uq_review_answers'),
    )
    with op.batch_alter_table('review_answers', schema=None) as batch_op:
        batch_op.create_index('ix_review_answers_kind', ['initiative_id', 'kind', 'recorded_at'], unique=False)

    op.create_table(
        'business_values',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('initiative_id', sa.Integer(), nullable=False),
        sa.Column('commitment', sa.Text(), nullable=False),
        sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('recorded_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('business_values', schema=None) as batch_op:
        batch_op.create_index('ix_business_value_initiative', ['initiative_id', 'recorded_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('business_values', schema=None) as batch_op:
        batch_op.drop_index('ix_business_value_initiative')
    op.drop_table('business_values')
    with op.batch_alter_table('review_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_review_answers_kind')
    op.drop_table('review_answers')
