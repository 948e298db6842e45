"""who did it is a person: stock movements, reservations, receipts and purchase orders
keep the person and the credential they used

Each who-field gains its name and credential beside the id. Rows written before get the
id as the name (the person then, or a machine's key, is all that was kept) and no
credential: it was not recorded.

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

# (table, who-field, its name column, its credential column), each new column a nullable String(200).
WHO_FIELDS = (
    ("stock_movements", "principal_id", "principal_name", "principal_credential"),
    ("reservations", "issued_by", "issued_by_name", "issued_by_credential"),
    ("stock_receipts", "received_by", "received_by_name", "received_by_credential"),
    ("purchase_orders", "created_by", "created_by_name", "created_by_credential"),
)


def upgrade() -> None:
    for table, field, name, credential in WHO_FIELDS:
        op.add_column(table, sa.Column(name, sa.String(200), nullable=True))
        op.add_column(table, sa.Column(credential, sa.String(200), nullable=True))
        op.execute(f"UPDATE {table} SET {name} = {field} WHERE {field} IS NOT NULL")


def downgrade() -> None:
    for table, _, name, credential in reversed(WHO_FIELDS):
        op.drop_column(table, credential)
        op.drop_column(table, name)
