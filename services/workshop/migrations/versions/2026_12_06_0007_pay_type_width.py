"""pay types up to 32 characters: the brand-paid `first_maintenance` (17) did not fit in 16

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("jobs", "reservations", "sublet_lines")


def upgrade() -> None:
    for table in TABLES:
        op.alter_column(table, "pay_type", type_=sa.String(32), existing_type=sa.String(16), existing_nullable=False)


def downgrade() -> None:
    for table in TABLES:
        op.alter_column(table, "pay_type", type_=sa.String(16), existing_type=sa.String(32), existing_nullable=False)
