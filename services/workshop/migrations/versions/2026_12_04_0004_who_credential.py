"""who-fields keep the person's name and the credential: the key or sign-in a job was
clocked on or off, completed or checked with, beside the person's id

All nullable: rows written before have none.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# (table, column) added by this revision, each a nullable String(200).
COLUMNS = (
    ("jobs", "completed_by_name"),
    ("jobs", "completed_by_credential"),
    ("work_intervals", "started_by_name"),
    ("work_intervals", "started_by_credential"),
    ("work_intervals", "ended_by_name"),
    ("work_intervals", "ended_by_credential"),
    ("quality_checks", "inspector_person_name"),
    ("quality_checks", "inspector_credential"),
)


def upgrade() -> None:
    for table, column in COLUMNS:
        op.add_column(table, sa.Column(column, sa.String(200), nullable=True))


def downgrade() -> None:
    for table, column in reversed(COLUMNS):
        op.drop_column(table, column)
