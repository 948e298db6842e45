"""recall and service campaigns: affected VINs, completion

campaign_vins holds one row per affected car of a campaign, keyed (campaign_id, vin) and
indexed by vin for the lookup a check-in makes; its completion columns stay empty until a
closed repair order carries the campaign's operation for that car.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title_zh", sa.String(200), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=False),
        sa.Column("op_code", sa.String(32), nullable=False),
        sa.Column("parts", sa.JSON, nullable=False),
        sa.Column("flat_hours", sa.Numeric(8, 2), nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("vin_count", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(64), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "campaign_vins",
        sa.Column("campaign_id", sa.String(64), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
        sa.Column("vin", sa.String(17), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("store_id", sa.String(64), nullable=True),
        sa.Column("repair_order_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", "vin", name="pk_campaign_vins"),
    )
    op.create_index("ix_campaign_vins_vin", "campaign_vins", ["vin"])


def downgrade() -> None:
    op.drop_index("ix_campaign_vins_vin", table_name="campaign_vins")
    op.drop_table("campaign_vins")
    op.drop_table("campaigns")
