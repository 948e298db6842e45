"""purchase_orders.total_fen as BIGINT: up to 500 lines of up to 10,000,000 CNY each add up
past what an INTEGER of fen holds (21,474,836.47 CNY)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("purchase_orders", "total_fen", type_=sa.BigInteger(), existing_type=sa.Integer(),
                    existing_nullable=False)


def downgrade() -> None:
    op.alter_column("purchase_orders", "total_fen", type_=sa.Integer(), existing_type=sa.BigInteger(),
                    existing_nullable=False)
