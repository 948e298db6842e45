"""who did it is a person: stock movements, reservations, receipts and purchase orders
keep the person and the credential they used

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
