"""who-fields keep the credential: the key or sign-in a change was made with, beside the
person who made it

A state change's `by_credential` is nullable: changes made before, and those a service
makes on an event, have none. Who-fields kept as JSON (an order's advisor, a line's
added_by, an approval's or invoice's recorded_by) carry it in the JSON and need no column.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("state_changes", sa.Column("by_credential", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_column("state_changes", "by_credential")
