"""platform tables only: the benchmark's outbox

Revision ID: bench0001
Revises:
Create Date: 2026-11-28
"""
from services.common.migrations import create_platform_tables, drop_platform_tables

revision = "bench0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables()


def downgrade() -> None:
    drop_platform_tables()
