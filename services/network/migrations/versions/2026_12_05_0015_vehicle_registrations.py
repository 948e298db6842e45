"""new-car intake: PDI sheets, warranty registrations and their corrections

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _who(field: str, nullable: bool = False) -> list[sa.Column]:
    return [sa.Column(field, sa.String, nullable=nullable), sa.Column(f"{field}_name", sa.String, nullable=True),
            sa.Column(f"{field}_credential", sa.String, nullable=True)]


def upgrade() -> None:
    op.create_table(
        "pdi_inspections",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("vin", sa.String(17), nullable=False, index=True),
        sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("inspected_on", sa.Date, nullable=False),
        sa.Column("items", sa.JSON, nullable=False),
        sa.Column("defects", sa.JSON, nullable=False),
        sa.Column("all_fixed", sa.Boolean, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        *_who("recorded_by"),
    )
    op.create_table(
        "vehicle_registrations",
        sa.Column("vin", sa.String(17), primary_key=True),
        sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.id"), nullable=False, index=True),
        sa.Column("buyer_name", sa.String(200), nullable=False),
        sa.Column("buyer_phone", sa.String(32), nullable=False),
        sa.Column("model", sa.String(100), nullable=True),
        sa.Column("invoice_date", sa.Date, nullable=False),
        sa.Column("delivery_date", sa.Date, nullable=False),
        sa.Column("mileage_at_delivery_km", sa.Integer, nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        *_who("registered_by"),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "vehicle_registration_corrections",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("vin", sa.String(17), sa.ForeignKey("vehicle_registrations.vin"), nullable=False, index=True),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        *_who("corrected_by"),
    )


def downgrade() -> None:
    op.drop_table("vehicle_registration_corrections")
    op.drop_table("vehicle_registrations")
    op.drop_table("pdi_inspections")
