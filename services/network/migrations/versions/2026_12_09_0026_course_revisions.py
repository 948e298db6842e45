"""Courses' revisions and versions; how many certified people a store requirement asks

courses.revision: the revision network.course.published carries, 1 when added or seeded,
one more on each change, kept on the row (it was counted from the outbox, which pruning
would have broken). Rows changed before this revision take the highest revision their
outbox rows still hold, so the next one goes on from there; 1 where none is left.
courses.version: the optimistic-concurrency counter the course's ETag and If-Match name.
courses.published_at: when it was last published; the next publication is never dated
before it, because the workshop keeps a course's newest word by the event's time.
store_certification_requirements.people: how many people holding the role and the
course a store of the kind needs (1 for the rules data/certifications.json seeded).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-09
"""
import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("courses", sa.Column("revision", sa.Integer, nullable=False, server_default="1"))
    op.add_column("courses", sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    op.add_column("courses", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("""
        UPDATE courses c SET
            revision = GREATEST(1, COALESCE(o.revision, 1)),
            published_at = GREATEST(c.created_at, o.published_at)
        FROM (
            SELECT key,
                   MAX(((payload::json -> 'data') ->> 'revision')::int) AS revision,
                   MAX((payload::json ->> 'time')::timestamptz) AS published_at
            FROM outbox WHERE event_type = 'network.course.published' GROUP BY key
        ) o
        WHERE o.key = c.code
    """)
    op.execute("UPDATE courses SET published_at = created_at WHERE published_at IS NULL")
    op.alter_column("courses", "published_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.add_column("store_certification_requirements",
                  sa.Column("people", sa.Integer, nullable=False, server_default="1"))
    op.create_check_constraint("ck_store_cert_requirements_people", "store_certification_requirements",
                               "people >= 1")


def downgrade() -> None:
    op.drop_constraint("ck_store_cert_requirements_people", "store_certification_requirements", type_="check")
    op.drop_column("store_certification_requirements", "people")
    op.drop_column("courses", "published_at")
    op.drop_column("courses", "version")
    op.drop_column("courses", "revision")
