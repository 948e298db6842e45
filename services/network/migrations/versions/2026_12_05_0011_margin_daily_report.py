"""margin and daily report: the stores' days signed off by their service managers

Gross margin needs no table: the workshop's order cost lands on the repair order's KPI
entity and its facts (gm_* metrics) in the tables revision 0004 made. Orders delivered
before this revision get their margin when a KPI rebuild re-reads the cost events.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_report_sign_offs",
        sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("signed_by", sa.String(64), nullable=False),
        sa.Column("signed_by_name", sa.String(200), nullable=True),
        sa.Column("signed_by_credential", sa.String(200), nullable=True),
        sa.Column("signed_by_role", sa.String(32), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("figures", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("store_id", "day", name="pk_daily_report_sign_offs"),
    )
    op.create_index("ix_daily_report_sign_offs_day", "daily_report_sign_offs", ["day"])


def downgrade() -> None:
    op.drop_index("ix_daily_report_sign_offs_day", table_name="daily_report_sign_offs")
    op.drop_table("daily_report_sign_offs")
