"""who did it is a person: complaints and reminders keep the person and the credential they used

Each who-field gains its name and credential beside the id, and a complaint records who
assigned it. Rows written before get the id as the name (the person then, or a machine's
key, is all that was kept) and no credential: it was not recorded; a complaint's assigner
is taken from its history's latest assignment.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# (table, who-field) given a name and a credential by this revision, each a nullable String(200).
WHO_FIELDS = (
    ("complaints", "opened_by"),
    ("complaints", "assigned_by"),
    ("complaints", "resolved_by"),
    ("complaint_steps", "by"),
    ("reminders", "sent_by"),
)


def upgrade() -> None:
    op.add_column("complaints", sa.Column("assigned_by", sa.String(64), nullable=True))
    op.execute("""
        UPDATE complaints SET assigned_by = latest."by"
        FROM (SELECT DISTINCT ON (complaint_id) complaint_id, "by" FROM complaint_steps
              WHERE action = 'assigned' ORDER BY complaint_id, at DESC, id DESC) AS latest
        WHERE latest.complaint_id = complaints.id AND complaints.assigned_at IS NOT NULL
    """)
    for table, field in WHO_FIELDS:
        op.add_column(table, sa.Column(f"{field}_name", sa.String(200), nullable=True))
        op.add_column(table, sa.Column(f"{field}_credential", sa.String(200), nullable=True))
        # Quoted: complaint_steps' who-field is called "by".
        op.execute(f'UPDATE {table} SET {field}_name = "{field}" WHERE "{field}" IS NOT NULL')


def downgrade() -> None:
    for table, field in reversed(WHO_FIELDS):
        op.drop_column(table, f"{field}_credential")
        op.drop_column(table, f"{field}_name")
    op.drop_column("complaints", "assigned_by")
