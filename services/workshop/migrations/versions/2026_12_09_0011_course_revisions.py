"""Courses' revisions in the workshop's copy

network.course.published carries the course's revision (network migration 0026); the copy
keeps it and orders a course's events by it, so an older revision arriving late, whatever
its time, changes nothing. Existing rows are revision 1, as network's seeded courses are.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-09
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("certification_courses",
                  sa.Column("revision", sa.Integer, nullable=False, server_default=sa.text("1")))


def downgrade() -> None:
    op.drop_column("certification_courses", "revision")
