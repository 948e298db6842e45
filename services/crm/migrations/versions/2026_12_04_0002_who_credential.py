"""who-fields keep the person's name and the credential: the key or sign-in a callback
attempt, survey or completion was recorded with, beside the person's id

All nullable: rows written before have none.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# (table, column) added by this revision, each a nullable String(200).
COLUMNS = (
    ("callbacks", "completed_by_name"),
    ("callbacks", "completed_by_credential"),
    ("callback_attempts", "made_by_name"),
    ("callback_attempts", "made_by_credential"),
    ("surveys", "agent_name"),
    ("surveys", "agent_credential"),
)


def upgrade() -> None:
    for table, column in COLUMNS:
        op.add_column(table, sa.Column(column, sa.String(200), nullable=True))


def downgrade() -> None:
    for table, column in reversed(COLUMNS):
        op.drop_column(table, column)
