"""the information clerk's day: call windows, tracking calls, return repairs, club suggestions, win-back

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "store_call_windows",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("windows", sa.JSON, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "call_tasks",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("origin_key", sa.String(160), nullable=False, unique=True),
        sa.Column("customer_id", sa.String(64), nullable=True, index=True),
        sa.Column("vin", sa.String(32), nullable=True),
        sa.Column("repair_order_id", sa.String(64), nullable=True),
        sa.Column("repair_order_number", sa.String(64), nullable=True),
        sa.Column("reminder_id", sa.String(64), nullable=True),
        sa.Column("advisor_id", sa.String(64), nullable=True),
        sa.Column("due_at", UTC_TIME, nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", sa.String(32), nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("done_at", UTC_TIME, nullable=True),
        sa.Column("done_by", sa.String(64), nullable=True),
        sa.Column("done_by_name", sa.String(200), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "return_repairs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("vin", sa.String(32), nullable=False, index=True),
        sa.Column("repair_order_id", sa.String(64), nullable=True),
        sa.Column("repair_order_number", sa.String(64), nullable=True),
        sa.Column("reported_via", sa.String(100), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reported_at", UTC_TIME, nullable=False),
        sa.Column("reported_by", sa.String(64), nullable=False),
        sa.Column("comeback_repair_order_id", sa.String(64), nullable=True),
        sa.Column("came_back_at", UTC_TIME, nullable=True),
    )
    op.create_table(
        "member_suggestions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("via", sa.String(100), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("recorded_at", UTC_TIME, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "booking_offers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("vin", sa.String(32), nullable=False, index=True),
        sa.Column("via", sa.String(100), nullable=False),
        sa.Column("op_code", sa.String(32), nullable=False),
        sa.Column("service_type", sa.String(32), nullable=False),
        sa.Column("scheduled_at", UTC_TIME, nullable=False),
        sa.Column("offered_at", UTC_TIME, nullable=False),
        sa.Column("offered_by", sa.String(64), nullable=False),
        sa.Column("appointment_id", sa.String(64), nullable=True),
        sa.Column("booked_at", UTC_TIME, nullable=True),
    )
    op.create_table(
        "win_back_calls",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("episode_id", sa.String(64), nullable=False, index=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("result", sa.String(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("made_at", UTC_TIME, nullable=False),
        sa.Column("made_by", sa.String(64), nullable=False),
    )
    op.add_column("churn_episodes", sa.Column("cause", sa.String(32), nullable=True))
    op.add_column("churn_episodes", sa.Column("cause_note", sa.Text, nullable=True))
    op.add_column("churn_episodes", sa.Column("won_back_at", UTC_TIME, nullable=True))
    op.add_column("churn_episodes", sa.Column("won_back_by", sa.String(100), nullable=True))
    op.add_column("complaints", sa.Column("due_reason", sa.String(32), nullable=True))
    op.add_column("complaints", sa.Column("due_committed_by", sa.String(64), nullable=True))
    op.add_column("surveys", sa.Column("extra_answers", sa.JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("surveys", "extra_answers")
    op.drop_column("complaints", "due_committed_by")
    op.drop_column("complaints", "due_reason")
    for column in ("won_back_by", "won_back_at", "cause_note", "cause"):
        op.drop_column("churn_episodes", column)
    for table in ("win_back_calls", "booking_offers", "member_suggestions", "return_repairs", "call_tasks",
                  "store_call_windows"):
        op.drop_table(table)
