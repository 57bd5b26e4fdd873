"""performance: indexes for the metrics scrape

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 04:20:00
"""
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # What /metrics reads at every scrape: open reviews by due time, unresolved incidents by severity.
    op.create_index("ix_review_status_due", "reviews", ["status", "due_at"], unique=False)
    op.create_index("ix_incident_status", "incidents", ["status", "severity"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_incident_status", table_name="incidents")
    op.drop_index("ix_review_status_due", table_name="reviews")
