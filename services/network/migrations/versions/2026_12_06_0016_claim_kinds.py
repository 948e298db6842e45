"""claims of every kind: first maintenance, campaign, PDI and goodwill, and HQ's goodwill pre-authorisations

claims.kind (warranty for every claim so far); a PDI claim has no repair order, and a
campaign claim drafted by itself has not been submitted yet, so those columns may be null.
A campaign claim is unique per (campaign, repair order), a goodwill pre-authorisation pays
for one claim. goodwill_authorisations: the store's request and HQ's grant or refusal.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

NULLABLE_NOW = (("repair_order_id", sa.String(64)), ("repair_order_number", sa.String()),
                ("first_submitted_at", sa.DateTime(timezone=True)), ("submitted_at", sa.DateTime(timezone=True)),
                ("submitted_by", sa.String()))


def _who(field: str, nullable: bool = True) -> list[sa.Column]:
    return [sa.Column(field, sa.String, nullable=nullable), sa.Column(f"{field}_name", sa.String, nullable=True),
            sa.Column(f"{field}_credential", sa.String, nullable=True)]


def upgrade() -> None:
    op.create_table(
        "goodwill_authorisations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("vin", sa.String(17), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("amount_requested_fen", sa.BigInteger, nullable=False),
        sa.Column("valid_until_requested", sa.Date, nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        *_who("requested_by", nullable=False),
        sa.Column("amount_limit_fen", sa.BigInteger, nullable=True),
        sa.Column("brand_share_percent", sa.Integer, nullable=True),
        sa.Column("valid_until", sa.Date, nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        *_who("decided_by"),
        sa.Column("decision_note", sa.Text, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_goodwill_authorisations_store_status", "goodwill_authorisations", ["store_id", "status"])
    op.add_column("claims", sa.Column("kind", sa.String(32), nullable=False, server_default="warranty"))
    op.add_column("claims", sa.Column("campaign_id", sa.String(64), sa.ForeignKey("campaigns.id"), nullable=True))
    op.add_column("claims", sa.Column("pdi_inspection_id", sa.String(64), sa.ForeignKey("pdi_inspections.id"),
                                      nullable=True))
    op.create_index("ix_claims_pdi_inspection_id", "claims", ["pdi_inspection_id"])
    op.add_column("claims", sa.Column("goodwill_authorisation_id", sa.String(64),
                                      sa.ForeignKey("goodwill_authorisations.id"), nullable=True))
    op.add_column("claims", sa.Column("pricing", sa.JSON, nullable=False, server_default=sa.text("'{}'::json")))
    for name, type_ in NULLABLE_NOW:
        op.alter_column("claims", name, existing_type=type_, nullable=True)
    op.create_unique_constraint("uq_claims_campaign_order", "claims", ["campaign_id", "repair_order_id"])
    op.create_unique_constraint("uq_claims_goodwill_authorisation", "claims", ["goodwill_authorisation_id"])


def downgrade() -> None:
    # Going down with claims of the new kinds (drafts, PDI claims) fails on the NOT NULLs:
    # they have no place in the schema below.
    op.drop_constraint("uq_claims_goodwill_authorisation", "claims", type_="unique")
    op.drop_constraint("uq_claims_campaign_order", "claims", type_="unique")
    for name, type_ in NULLABLE_NOW:
        op.alter_column("claims", name, existing_type=type_, nullable=False)
    op.drop_column("claims", "pricing")
    op.drop_column("claims", "goodwill_authorisation_id")
    op.drop_index("ix_claims_pdi_inspection_id", "claims")
    op.drop_column("claims", "pdi_inspection_id")
    op.drop_column("claims", "campaign_id")
    op.drop_column("claims", "kind")
    op.drop_index("ix_goodwill_authorisations_store_status", "goodwill_authorisations")
    op.drop_table("goodwill_authorisations")
