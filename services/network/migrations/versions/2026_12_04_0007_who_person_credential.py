"""who is a person: API keys issued to a person and recording who made and revoked them;
claims, their history and decisions recording the name and credential beside the id

Every new column is nullable: keys issued to nobody, and rows written before names and
credentials were kept, have none.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (table, column, type) added by this revision, in order.
COLUMNS = (
    ("api_keys", "created_by_name", sa.String()),
    ("api_keys", "created_by_credential", sa.String()),
    ("api_keys", "revoked_by", sa.String(64)),
    ("api_keys", "revoked_by_name", sa.String()),
    ("api_keys", "revoked_by_credential", sa.String()),
    ("api_keys", "revoked_reason", sa.String(500)),
    ("claims", "submitted_by_name", sa.String()),
    ("claims", "submitted_by_credential", sa.String()),
    ("claims", "decided_by_name", sa.String()),
    ("claims", "decided_by_credential", sa.String()),
    ("claim_history", "by_name", sa.String()),
    ("claim_history", "by_credential", sa.String()),
)


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("person_id", sa.String(64), sa.ForeignKey("people.id",
                                                                                  name="fk_api_keys_person"),
                                        nullable=True))
    op.create_index("ix_api_keys_person_id", "api_keys", ["person_id"])
    for table, column, type_ in COLUMNS:
        op.add_column(table, sa.Column(column, type_, nullable=True))


def downgrade() -> None:
    for table, column, _ in reversed(COLUMNS):
        op.drop_column(table, column)
    op.drop_index("ix_api_keys_person_id", "api_keys")
    op.drop_constraint("fk_api_keys_person", "api_keys", type_="foreignkey")
    op.drop_column("api_keys", "person_id")
