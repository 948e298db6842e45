"""closed repair orders (projection), warranty claims, settlements

The primary key of claimed_lines keeps a repair order line in one live claim; the unique
claim_id of settlement_claims keeps a claim on one settlement.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repair_orders",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("number", sa.String, nullable=False),
        sa.Column("vin", sa.String(32), nullable=False, index=True),
        sa.Column("plate", sa.String, nullable=True),
        sa.Column("model", sa.String, nullable=True),
        sa.Column("sold_at", sa.Date, nullable=True),
        sa.Column("mileage_km", sa.Integer, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lines", sa.JSON, nullable=False),
        sa.Column("totals", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_repair_orders_store", "repair_orders", ["store_id", "id"])
    op.create_table(
        "claims",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("repair_order_id", sa.String(64), sa.ForeignKey("repair_orders.id"), nullable=False, index=True),
        sa.Column("repair_order_number", sa.String, nullable=False),
        sa.Column("vin", sa.String, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("complaint", sa.Text, nullable=False),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("correction", sa.Text, nullable=False),
        sa.Column("causal_part_no", sa.String, nullable=True),
        sa.Column("amount_claimed_fen", sa.BigInteger, nullable=False),
        sa.Column("amount_approved_fen", sa.BigInteger, nullable=True),
        sa.Column("precheck", sa.JSON, nullable=False),
        sa.Column("submission_count", sa.Integer, nullable=False),
        sa.Column("first_submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.String, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String, nullable=True),
        sa.Column("reason_code", sa.String, nullable=True),
        sa.Column("decision_note", sa.String, nullable=True),
        sa.Column("proposal", sa.JSON, nullable=True),
        sa.Column("settlement_id", sa.String(64), nullable=True, index=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_claims_store_status", "claims", ["store_id", "status"])
    op.create_table(
        "claim_lines",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("claim_id", sa.String(64), sa.ForeignKey("claims.id"), nullable=False, index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("line_id", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("op_code", sa.String, nullable=True),
        sa.Column("part_no", sa.String, nullable=True),
        sa.Column("description", sa.String, nullable=False),
        sa.Column("quantity", sa.String, nullable=False),
        sa.Column("unit_price_fen", sa.BigInteger, nullable=False),
        sa.Column("order_amount_fen", sa.BigInteger, nullable=False),
        sa.Column("flat_rate_hours", sa.String, nullable=True),
        sa.Column("paid_hours", sa.String, nullable=True),
        sa.Column("reimbursable_unit_fen", sa.String, nullable=True),
        sa.Column("claimed_fen", sa.BigInteger, nullable=False),
        sa.Column("approved_fen", sa.BigInteger, nullable=True),
        sa.Column("adjustment_code", sa.String, nullable=True),
        sa.Column("category", sa.String, nullable=True),
        sa.Column("coverage", sa.JSON, nullable=False),
    )
    op.create_table(
        "claimed_lines",
        sa.Column("repair_order_id", sa.String(64), nullable=False),
        sa.Column("line_id", sa.String(64), nullable=False),
        sa.Column("claim_id", sa.String(64), sa.ForeignKey("claims.id"), nullable=False, index=True),
        sa.PrimaryKeyConstraint("repair_order_id", "line_id", name="pk_claimed_lines"),
    )
    op.create_table(
        "claim_history",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("claim_id", sa.String(64), sa.ForeignKey("claims.id"), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("status_after", sa.String, nullable=False),
        sa.Column("submission", sa.Integer, nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_table(
        "settlements",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("total_fen", sa.BigInteger, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String, nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.String, nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_by", sa.String, nullable=True),
        sa.Column("reference", sa.String, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_settlements_store_period", "settlements", ["store_id", "period"])
    op.create_table(
        "settlement_claims",
        sa.Column("settlement_id", sa.String(64), sa.ForeignKey("settlements.id"), primary_key=True),
        sa.Column("claim_id", sa.String(64), sa.ForeignKey("claims.id"), primary_key=True),
        sa.Column("amount_approved_fen", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("claim_id", name="uq_settlement_claims_claim_id"),
    )


def downgrade() -> None:
    op.drop_table("settlement_claims")
    op.drop_index("ix_settlements_store_period", "settlements")
    op.drop_table("settlements")
    op.drop_table("claim_history")
    op.drop_table("claimed_lines")
    op.drop_table("claim_lines")
    op.drop_index("ix_claims_store_status", "claims")
    op.drop_table("claims")
    op.drop_index("ix_repair_orders_store", "repair_orders")
    op.drop_table("repair_orders")
