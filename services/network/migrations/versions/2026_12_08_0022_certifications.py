"""training and certification

courses: what the brand certifies staff in, each valid for a number of months, with the
labour operations only its holders may be given and the HQ people (trainers) who may grant
it besides hq_admin. store_certification_requirements: the certified people every store of a
kind must have (a role in the store holding a course), which an outlet's onboarding waits
for. certifications: a person's certificate in a course, valid from issued_on through
expires_on unless revoked; one certificate number per course.

The courses and store requirements data/certifications.json holds when this runs are
seeded here, as revision 0019 seeds the policies: the file is what the network starts from.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08
"""
import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

DATA = Path(__file__).resolve().parents[4] / "data" / "certifications.json"


def upgrade() -> None:
    courses = op.create_table(
        "courses",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("validity_months", sa.Integer, nullable=False),
        sa.Column("operations", sa.JSON, nullable=False),
        sa.Column("trainer_person_ids", sa.JSON, nullable=False),
        sa.Column("source", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
    )
    requirements = op.create_table(
        "store_certification_requirements",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_kind", sa.String(32), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("course_code", sa.String(16), sa.ForeignKey("courses.code"), nullable=False),
        sa.Column("source", sa.Text, nullable=True),
        sa.UniqueConstraint("store_kind", "role", "course_code", name="uq_store_cert_requirements"),
    )
    op.create_table(
        "certifications",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.String(64), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("course_code", sa.String(16), sa.ForeignKey("courses.code"), nullable=False),
        sa.Column("certificate_no", sa.String(64), nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("expires_on", sa.Date, nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(64), nullable=False),
        sa.Column("granted_by_name", sa.String(200), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(64), nullable=True),
        sa.Column("revoked_by_name", sa.String(200), nullable=True),
        sa.Column("revoke_reason", sa.String(500), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("course_code", "certificate_no", name="uq_certifications_course_number"),
    )
    op.create_index("ix_certifications_person", "certifications", ["person_id", "course_code"])
    op.create_index("ix_certifications_expires", "certifications", ["expires_on"])

    seed = json.loads(DATA.read_text(encoding="utf-8"))
    now = datetime.now(UTC)
    op.bulk_insert(courses, [
        {"code": c["code"], "name_zh": c["name_zh"], "name_en": c["name_en"], "validity_months": c["validity_months"],
         "operations": c["operations"], "trainer_person_ids": [], "source": c["source"], "created_at": now,
         "created_by": "platform"}
        for c in seed["courses"]])
    op.bulk_insert(requirements, [
        {"id": f"seed-{r['store_kind']}-{r['role']}-{r['course']}", "store_kind": r["store_kind"], "role": r["role"],
         "course_code": r["course"], "source": r["source"]}
        for r in seed["store_requirements"]])


def downgrade() -> None:
    op.drop_index("ix_certifications_expires", table_name="certifications")
    op.drop_index("ix_certifications_person", table_name="certifications")
    op.drop_table("certifications")
    op.drop_table("store_certification_requirements")
    op.drop_table("courses")
