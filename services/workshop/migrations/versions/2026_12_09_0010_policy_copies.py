"""The store's copies of the brand's policy versions

A job from a labour line sold without hours takes the brand's flat hours in force on the
order's opening day. Network publishes each new version as events; the workshop keeps the
versions of labour_operations here, with the parts of a version still coming. Version 1 is
the data/ file network seeded its own from.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-09
"""
import json
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

DATA = Path(__file__).resolve().parents[4] / "data"
# The policy's name in network's API -> its file in data/ (the file keeps the American spelling).
SEEDED = {"labour_operations": "labor_operations.json"}


def upgrade() -> None:
    copies = op.create_table(
        "policy_copies",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("change_count", sa.Integer, nullable=False),
        sa.Column("parts", sa.Integer, nullable=False),
        sa.Column("document", JSONB, nullable=True),
        sa.Column("complete", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("name", "version", name="pk_policy_copies"),
    )
    op.create_table(
        "policy_copy_parts",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("part", sa.Integer, nullable=False),
        sa.Column("changes", JSONB, nullable=False),
        sa.PrimaryKeyConstraint("name", "version", "part", name="pk_policy_copy_parts"),
    )
    op.bulk_insert(copies, [
        {"name": name, "version": 1, "effective_from": date(1970, 1, 1), "change_count": 0, "parts": 1,
         "document": json.loads((DATA / file).read_text(encoding="utf-8")), "complete": True}
        for name, file in SEEDED.items()])


def downgrade() -> None:
    op.drop_table("policy_copy_parts")
    op.drop_table("policy_copies")
