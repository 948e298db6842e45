"""regions and areas, and versioned policies

region -> area -> store. A store's placement over time is kept in store_area_memberships,
one row per stay in an area, [from_day, until_day) in the store's own days, so a store
moved to another region leaves its figures before the move with the region it was in;
stores.area_id and stores.region_id are where it is now, for lists. A region manager is
assigned to regions in region_managers (a person of the staff directory).

policy_versions keeps each named policy's versions with the day each takes effect.
Version 1 of warranty_policy and labour_operations is what data/ holds when this runs,
in force from 1970-01-01, so the history starts from the files the platform ran on.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""
import json
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

DATA = Path(__file__).resolve().parents[4] / "data"
# The policy's name in the API -> its file in data/ (the file keeps the American spelling).
SEEDED = {"warranty_policy": "warranty_policy.json", "labour_operations": "labor_operations.json"}


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "areas",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("region_id", sa.String(64), sa.ForeignKey("regions.id"), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("region_id", "code", name="uq_areas_region_code"),
    )
    op.create_table(
        "store_area_memberships",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("area_id", sa.String(64), sa.ForeignKey("areas.id"), nullable=False),
        sa.Column("region_id", sa.String(64), sa.ForeignKey("regions.id"), nullable=False),
        sa.Column("from_day", sa.Date, nullable=False),
        sa.Column("until_day", sa.Date, nullable=True),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("moved_by", sa.String(64), nullable=False),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_store_area_memberships_store", "store_area_memberships", ["store_id", "from_day"])
    op.create_index("ix_store_area_memberships_region", "store_area_memberships", ["region_id", "from_day"])
    op.create_index("uq_store_area_memberships_open", "store_area_memberships", ["store_id"], unique=True,
                    postgresql_where=sa.text("until_day IS NULL"))
    op.create_table(
        "region_managers",
        sa.Column("person_id", sa.String(64), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("region_id", sa.String(64), sa.ForeignKey("regions.id"), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "region_id", name="pk_region_managers"),
    )
    op.create_index("ix_region_managers_region", "region_managers", ["region_id"])
    op.add_column("stores", sa.Column("region_id", sa.String(64), sa.ForeignKey("regions.id"), nullable=True))
    op.add_column("stores", sa.Column("area_id", sa.String(64), sa.ForeignKey("areas.id"), nullable=True))
    op.create_index("ix_stores_region_id", "stores", ["region_id"])

    versions = op.create_table(
        "policy_versions",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("name", "version", name="pk_policy_versions"),
        sa.UniqueConstraint("name", "effective_from", name="uq_policy_versions_day"),
    )
    now = datetime.now(UTC)
    op.bulk_insert(versions, [
        {"name": name, "version": 1, "effective_from": date(1970, 1, 1),
         "body": json.loads((DATA / file).read_text(encoding="utf-8")), "note": f"data/{file}",
         "created_at": now, "created_by": "platform"}
        for name, file in SEEDED.items()])


def downgrade() -> None:
    op.drop_table("policy_versions")
    op.drop_index("ix_stores_region_id", table_name="stores")
    op.drop_column("stores", "area_id")
    op.drop_column("stores", "region_id")
    op.drop_index("ix_region_managers_region", table_name="region_managers")
    op.drop_table("region_managers")
    op.drop_index("uq_store_area_memberships_open", table_name="store_area_memberships")
    op.drop_index("ix_store_area_memberships_region", table_name="store_area_memberships")
    op.drop_index("ix_store_area_memberships_store", table_name="store_area_memberships")
    op.drop_table("store_area_memberships")
    op.drop_table("areas")
    op.drop_table("regions")
