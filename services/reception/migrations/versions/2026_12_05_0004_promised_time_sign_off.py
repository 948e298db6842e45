"""promised times kept and moved with a reason, and the service manager's sign-off on high-value orders

An order keeps the promise first given at approval beside the one in force and how often
it was moved (each move, with its reason and who moved it, is a state change); the
manager's sign-off is who (JSON, as the other who-fields), when, and the amount it
covered. Every new column is nullable or has a default, so orders from before read as
"no promise recorded" and "not signed off". A store's own settings live in
store_settings; no row means the group's defaults.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("repair_orders", sa.Column("first_promised_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("repair_orders", sa.Column("promise_moves", sa.Integer, nullable=False, server_default="0"))
    op.add_column("repair_orders", sa.Column("signed_off_by", sa.JSON, nullable=True))
    op.add_column("repair_orders", sa.Column("signed_off_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("repair_orders", sa.Column("signed_off_fen", sa.BigInteger, nullable=True))
    # An order approved before promises were kept counts its estimate's promise as the first.
    op.execute("UPDATE repair_orders SET first_promised_at = promised_at "
               "WHERE promised_at IS NOT NULL AND approved_at IS NOT NULL")
    op.create_table(
        "store_settings",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("high_value_threshold_fen", sa.BigInteger, nullable=True),
        sa.Column("high_value_sign_off", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("store_settings")
    for column in ("signed_off_fen", "signed_off_at", "signed_off_by", "promise_moves", "first_promised_at"):
        op.drop_column("repair_orders", column)
