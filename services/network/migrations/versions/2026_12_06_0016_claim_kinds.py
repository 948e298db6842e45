"""claims of every kind: first maintenance, campaign, PDI and goodwill, and HQ's goodwill pre-authorisations

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""
from alembic import op  # noqa: F401

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
