"""technicians' certifications

certification_courses: network's courses with the labour operations only a holder of the
course's certification may be given; staff_certifications: people's certificates as
network's events tell them (valid issued_on through expires_on unless revoked). The
courses data/certifications.json holds when this runs are seeded here, as network's
revision 0022 seeds its own from the same file, so an operation needs its certification
from the start and not only once network has sent an event about the course.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""
import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

DATA = Path(__file__).resolve().parents[4] / "data" / "certifications.json"


def upgrade() -> None:
    courses = op.create_table(
        "certification_courses",
        sa.Column("course_code", sa.String(16), primary_key=True),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("operations", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "staff_certifications",
        sa.Column("certification_id", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("course_code", sa.String(16), nullable=False),
        sa.Column("certificate_no", sa.String(64), nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("expires_on", sa.Date, nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_staff_certifications_person", "staff_certifications", ["person_id", "course_code"])
    # Dated long ago: any word from network about a seeded course is newer.
    seeded_at = datetime(1970, 1, 1, tzinfo=UTC)
    op.bulk_insert(courses, [
        {"course_code": c["code"], "name_zh": c["name_zh"], "name_en": c["name_en"],
         "operations": sorted(set(c["operations"])), "updated_at": seeded_at}
        for c in json.loads(DATA.read_text(encoding="utf-8"))["courses"]])


def downgrade() -> None:
    op.drop_index("ix_staff_certifications_person", table_name="staff_certifications")
    op.drop_table("staff_certifications")
    op.drop_table("certification_courses")
