"""policies in force by date

Version 1 of the policies kept as versions since this revision: parts prices, audit
standards, onboarding checklist, the Three Guarantees (三包) policy and the campaign policy,
each what data/ holds when this runs, in force from 1970-01-01 (as 0019 did for the
warranty policy and labour operations). The Three Guarantees policy is one body of three
files: the regulation's revisions, oldest first, and the watch's reading of orders.

A claim keeps the version numbers it was priced by (claims.policy_versions; null for claims
priced before this revision, from data/), an audit the audit standards' (audits.standards_version).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08
"""
import json
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

DATA = Path(__file__).resolve().parents[4] / "data"
SEEDED = {"parts_prices": "parts.json", "audit_standards": "audit_standards.json",
          "onboarding_checklist": "onboarding_checklist.json", "campaign_policy": "campaign_policy.json"}
SANBAO = ("sanbao_policy.json", "sanbao_policy_2021.json", "sanbao_watch.json")


def _load(file: str) -> dict:
    return json.loads((DATA / file).read_text(encoding="utf-8"))


def _three_guarantees() -> dict:
    first, current, watch = (_load(file) for file in SANBAO)
    # The 2013 file names no day of its own; the 2021 one names the day it replaced.
    return {"regulation": [{"effective_from": current["replaces"]["effective_from"], **first}, current],
            "watch": watch}


def upgrade() -> None:
    versions = sa.table(
        "policy_versions", sa.column("name", sa.String), sa.column("version", sa.Integer),
        sa.column("effective_from", sa.Date), sa.column("body", sa.JSON), sa.column("note", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)), sa.column("created_by", sa.String))
    now = datetime.now(UTC)
    rows = [(name, _load(file), f"data/{file}") for name, file in SEEDED.items()]
    rows.append(("three_guarantees", _three_guarantees(), "data/" + ", data/".join(SANBAO)))
    op.bulk_insert(versions, [
        {"name": name, "version": 1, "effective_from": date(1970, 1, 1), "body": body, "note": note,
         "created_at": now, "created_by": "platform"}
        for name, body, note in rows])
    op.add_column("claims", sa.Column("policy_versions", sa.JSON, nullable=True))
    op.add_column("audits", sa.Column("standards_version", sa.Integer, nullable=True))


def downgrade() -> None:
    op.drop_column("audits", "standards_version")
    op.drop_column("claims", "policy_versions")
    op.execute(sa.text("DELETE FROM policy_versions WHERE name IN "
                       "('parts_prices', 'audit_standards', 'onboarding_checklist', 'campaign_policy', "
                       "'three_guarantees')"))
