"""accessory lines on repair orders

A line of kind `accessory` names its item of data/accessories.json by code, beside the
part number and labour operation the other kinds name. Nullable: every line before this
revision is of another kind.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("repair_order_lines", sa.Column("accessory_code", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("repair_order_lines", "accessory_code")
