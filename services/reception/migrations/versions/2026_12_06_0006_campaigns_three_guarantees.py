"""open campaigns and Three Guarantees counts per VIN, campaign and first-maintenance lines

Reception's own copy, from network's events, of the brand's campaigns and of the cars each
one lists (one row per campaign and VIN, marked when network says the work is done), and of
each car's latest Three Guarantees (三包) figures and alerts, so booking and check-in show them
without asking network. A line may name the campaign it carries out; `first_maintenance` is
17 characters, so pay types get room.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.String(64)


def upgrade() -> None:
    op.alter_column("repair_order_lines", "pay_type", type_=sa.String(32), existing_type=sa.String(16),
                    existing_nullable=False)
    op.add_column("repair_order_lines", sa.Column("campaign_code", sa.String(32), nullable=True))
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", Id, primary_key=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title_zh", sa.String(200), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=False),
        sa.Column("op_code", sa.String(32), nullable=False),
        sa.Column("parts", sa.JSON, nullable=True),
        sa.Column("flat_hours", sa.Numeric(), nullable=True),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_campaigns_code", "campaigns", ["code"])
    op.create_table(
        "campaign_vehicles",
        sa.Column("campaign_id", Id, primary_key=True),
        sa.Column("vin", sa.String(17), primary_key=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_store_id", Id, nullable=True),
        sa.Column("completed_repair_order_id", Id, nullable=True),
    )
    op.create_index("ix_campaign_vehicles_vin", "campaign_vehicles", ["vin"])
    op.create_table(
        "three_guarantees",
        sa.Column("vin", sa.String(17), primary_key=True),
        sa.Column("validity", sa.String(16), nullable=False),
        sa.Column("valid_until", sa.Date, nullable=True),
        sa.Column("cumulative_repair_days", sa.Integer, nullable=False),
        sa.Column("same_problem_repairs", sa.JSON, nullable=False),
        sa.Column("serious_safety_fault_repairs", sa.Integer, nullable=False),
        sa.Column("engine_or_transmission_replacements", sa.Integer, nullable=False),
        sa.Column("alerts", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "three_guarantees_alerts",
        sa.Column("vin", sa.String(17), primary_key=True),
        sa.Column("threshold", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("remedy", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("limit", sa.Integer, nullable=False),
        sa.Column("problem", sa.String(64), nullable=True),
        sa.Column("loaner_owed", sa.Boolean, nullable=False),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("repair_order_id", Id, nullable=False),
        sa.Column("message_zh", sa.Text, nullable=False),
        sa.Column("message_en", sa.Text, nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("three_guarantees_alerts")
    op.drop_table("three_guarantees")
    op.drop_index("ix_campaign_vehicles_vin", table_name="campaign_vehicles")
    op.drop_table("campaign_vehicles")
    op.drop_index("ix_campaigns_code", table_name="campaigns")
    op.drop_table("campaigns")
    op.drop_column("repair_order_lines", "campaign_code")
    op.alter_column("repair_order_lines", "pay_type", type_=sa.String(16), existing_type=sa.String(32),
                    existing_nullable=False)
