"""quantities, flat-rate hours and roadside response minutes as NUMERIC instead of text

Text kept decimals exact on SQLite, which has no decimal type; PostgreSQL's NUMERIC is
exact, sums and compares in SQL, and refuses what is not a number.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("repair_order_lines", "quantity"),
    ("repair_order_lines", "flat_rate_hours"),
    ("roadside_requests", "response_minutes"),
)


def upgrade() -> None:
    for table, column in _COLUMNS:
        op.alter_column(table, column, type_=sa.Numeric(), existing_type=sa.String(32),
                        postgresql_using=f"{column}::numeric")


def downgrade() -> None:
    for table, column in _COLUMNS:
        op.alter_column(table, column, type_=sa.String(32), existing_type=sa.Numeric(),
                        postgresql_using=f"{column}::text")
