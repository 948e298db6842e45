"""HQ staff in the staff directory: a person's role at head office

A person holds an HQ role (hq_admin, hq_analyst, region_manager), store assignments, or both;
people registered before this revision hold none.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("people", sa.Column("hq_role", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("people", "hq_role")
