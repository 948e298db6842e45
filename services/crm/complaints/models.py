from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime, empty_list
from services.crm.base import CrmModel


class Complaint(CrmModel, table=True):
    __tablename__ = "complaints"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    source: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # survey | manual
    # "survey:<callback>:<department>": one complaint per department per survey, never two.
    origin_key: str | None = Field(default=None, sa_column=sa.Column(sa.String(160), nullable=True, unique=True))
    callback_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True, index=True))
    customer_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True, index=True))
    repair_order_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    department: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    severity: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # low | medium | high | critical
    description: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    verbatim: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # open | assigned | resolved | closed
    owner: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    due_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    # Why the owner committed a date later than the default deadline (data/complaint_rules.json), and who did.
    due_reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    due_committed_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    due_committed_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    due_committed_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    escalated: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False, default=False))
    opened_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False, index=True))
    # Who: the person (or a machine's own key, or "system"), their name, and the key or
    # sign-in they used.
    opened_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    opened_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    opened_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    assigned_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    assigned_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    assigned_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    assigned_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    resolved_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    resolved_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    resolved_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    resolved_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    resolution: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    resolutions: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, default=0))
    reopened: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, default=0))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, default=1))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class ComplaintEscalation(CrmModel, table=True):
    """Escalation to HQ, at most once per complaint and reason (critical, overdue)."""

    __tablename__ = "complaint_escalations"
    __table_args__ = (sa.UniqueConstraint("complaint_id", "reason", name="uq_complaint_escalations_reason"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    complaint_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    reason: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    escalated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class ComplaintStep(CrmModel, table=True):
    """The complaint's history, one row per change, with the status and due time it left
    behind: reports read a complaint's state at any past moment from it."""

    __tablename__ = "complaint_steps"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    complaint_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    # opened | assigned | escalated | resolved | reopened | closed
    action: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    due_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    note: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, default=""))


class StaffMember(CrmModel, table=True):
    """A person of network's staff directory as CRM knows them, from its events: a
    complaint's owner works in the complaint's store, or at head office."""

    __tablename__ = "staff_members"

    person_id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # active | left
    store_ids: list[str] = Field(default_factory=empty_list, sa_column=sa.Column(sa.JSON, nullable=False))
    hq_role: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    # [{store_id, role}]: who is an advisor where (the customer base goes by it).
    assignments: list[dict[str, str]] = Field(default_factory=empty_list, sa_column=sa.Column(sa.JSON, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
