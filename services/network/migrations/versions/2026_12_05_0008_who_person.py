"""who did it is a person: settlements, audits, corrective actions, applications and onboarding
keep the person and the credential they used

Each who-field gains `<field>_name` and `<field>_credential` beside the id. Rows written
before get the id as the name (the person then, or a machine's key, is all that was kept)
and no credential: it was not recorded.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# (table, who-field) given a name and a credential by this revision, in order.
WHO_FIELDS = (
    ("settlements", "issued_by"),
    ("settlements", "confirmed_by"),
    ("settlements", "paid_by"),
    ("audits", "auditor"),
    ("corrective_actions", "closed_by"),
    ("outlet_applications", "reviewed_by"),
    ("onboarding_items", "completed_by"),
)


def upgrade() -> None:
    for table, field in WHO_FIELDS:
        op.add_column(table, sa.Column(f"{field}_name", sa.String(), nullable=True))
        op.add_column(table, sa.Column(f"{field}_credential", sa.String(), nullable=True))
        op.execute(f"UPDATE {table} SET {field}_name = {field} WHERE {field} IS NOT NULL")


def downgrade() -> None:
    for table, field in reversed(WHO_FIELDS):
        op.drop_column(table, f"{field}_credential")
        op.drop_column(table, f"{field}_name")
