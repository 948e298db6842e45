"""who did it is a person on the information clerk's records: call tasks, next-service offers,
return repairs, member suggestions, win-back calls and committed complaint dates

Each who-field gains its name and credential beside the id, as revision 0004 did for
complaints and reminders; so do a job run's last_run_by and a stored report's
generated_by (the person who started the job by hand, or "scheduler"). Rows written
before get the id as the name (the person then, a machine's key, "system" or
"scheduler" is all that was kept) and no credential: it was not recorded. A call task
kept its name already; one without (the service's own cancellations) gets its id.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (table, who-field) given a name by this revision, each a nullable String(200).
NAMED = (
    ("store_call_windows", "updated_by"),
    ("booking_offers", "offered_by"),
    ("return_repairs", "reported_by"),
    ("member_suggestions", "recorded_by"),
    ("win_back_calls", "made_by"),
    ("complaints", "due_committed_by"),
    ("job_runs", "last_run_by"),
    ("reports", "generated_by"),
)
# Every who-field of the clerk's records gets a credential: call_tasks.done_by had its name from 0006.
CREDENTIALED = (*NAMED, ("call_tasks", "done_by"))


def upgrade() -> None:
    for table, field in NAMED:
        op.add_column(table, sa.Column(f"{field}_name", sa.String(200), nullable=True))
    for table, field in CREDENTIALED:
        op.add_column(table, sa.Column(f"{field}_credential", sa.String(200), nullable=True))
    for table, field in CREDENTIALED:
        op.execute(f"UPDATE {table} SET {field}_name = {field} WHERE {field} IS NOT NULL AND {field}_name IS NULL")


def downgrade() -> None:
    for table, field in reversed(CREDENTIALED):
        op.drop_column(table, f"{field}_credential")
    for table, field in reversed(NAMED):
        op.drop_column(table, f"{field}_name")
