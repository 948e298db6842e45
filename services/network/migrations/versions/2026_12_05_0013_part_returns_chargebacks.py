"""old-part returns and chargebacks on settlements

part_returns: the old parts HQ wants back from claim lines (one per claim line), with the
store's shipment and the warehouse's inspection. claim_chargebacks: money taken back from a
claim, by a post-payment audit or for a part not returned; part_return_id is unique so a
return is charged once. settlements.debits_fen: what the statement takes back (total_fen is
the claims less it, and may now be below zero).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _who(field: str, nullable: bool = True) -> list[sa.Column]:
    return [sa.Column(field, sa.String, nullable=nullable), sa.Column(f"{field}_name", sa.String, nullable=True),
            sa.Column(f"{field}_credential", sa.String, nullable=True)]


def upgrade() -> None:
    op.add_column("settlements", sa.Column("debits_fen", sa.BigInteger, nullable=False, server_default="0"))
    op.create_table(
        "part_returns",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("claim_id", sa.String(64), sa.ForeignKey("claims.id"), nullable=False),
        sa.Column("line_id", sa.String(64), nullable=False),
        sa.Column("repair_order_number", sa.String, nullable=False),
        sa.Column("part_no", sa.String, nullable=False),
        sa.Column("description", sa.String, nullable=False),
        sa.Column("quantity", sa.String, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("ship_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        *_who("marked_by", nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        *_who("shipped_by"),
        sa.Column("waybill", sa.String, nullable=True),
        sa.Column("carrier", sa.String, nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        *_who("received_by"),
        sa.Column("result", sa.String, nullable=True),
        sa.Column("inspection_note", sa.String, nullable=True),
        sa.Column("chargeback_id", sa.String(64), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("claim_id", "line_id", name="uq_part_returns_claim_line"),
    )
    op.create_index("ix_part_returns_store_status", "part_returns", ["store_id", "status"])
    op.create_table(
        "claim_chargebacks",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("claim_id", sa.String(64), sa.ForeignKey("claims.id"), nullable=False, index=True),
        sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("reason_code", sa.String(8), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("part_return_id", sa.String(64), nullable=True),
        sa.Column("charged_at", sa.DateTime(timezone=True), nullable=False),
        *_who("charged_by", nullable=False),
        sa.Column("settlement_id", sa.String(64), sa.ForeignKey("settlements.id"), nullable=True),
        sa.UniqueConstraint("part_return_id", name="uq_claim_chargebacks_part_return_id"),
    )
    op.create_index("ix_claim_chargebacks_store_unsettled", "claim_chargebacks", ["store_id", "settlement_id"])


def downgrade() -> None:
    op.drop_index("ix_claim_chargebacks_store_unsettled", "claim_chargebacks")
    op.drop_table("claim_chargebacks")
    op.drop_index("ix_part_returns_store_status", "part_returns")
    op.drop_table("part_returns")
    op.drop_column("settlements", "debits_fen")
