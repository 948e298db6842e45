"""build-out plan and region scoping

build_out_plans: a region's target cities and planned outlets for a year, one row per
region and year (a change is a new version of it). regions.claim_review_limit_fen: the
largest claim a region's managers decide themselves (0, the default: every claim is HQ's),
now that a region manager sees and reviews its regions' stores only.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("regions", sa.Column("claim_review_limit_fen", sa.BigInteger, nullable=False, server_default="0"))
    op.create_table(
        "build_out_plans",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("region_id", sa.String(64), sa.ForeignKey("regions.id"), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("cities", sa.JSON, nullable=False),
        sa.Column("planned_outlets", sa.Integer, nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_by_name", sa.String(200), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("region_id", "year", name="uq_build_out_plans_region_year"),
    )


def downgrade() -> None:
    op.drop_table("build_out_plans")
    op.drop_column("regions", "claim_review_limit_fen")
