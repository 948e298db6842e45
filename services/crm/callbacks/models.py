from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime, empty_dict
from services.crm.base import CrmModel


class Callback(CrmModel, table=True):
    """A call the store owes a customer: after a delivery (`first`) or after a complaint
    was resolved (`follow_up`)."""

    __tablename__ = "callbacks"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # first | follow_up
    # What the callback was made for ("first:<order>", "follow_up:<complaint>:<n>"): never twice.
    origin_key: str = Field(sa_column=sa.Column(sa.String(160), nullable=False, unique=True))
    repair_order_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True, index=True))
    repair_order_number: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    complaint_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True, index=True))
    customer_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True, index=True))
    vin: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    # The advisor who served the order: the one person who may not make this call.
    advisor_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    due_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False, index=True))
    # pending | completed | unreachable | cancelled
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, default=0))
    unanswered: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, default=0))
    reached_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    completed_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    completed_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    completed_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    completed_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    on_time: bool | None = Field(default=None, sa_column=sa.Column(sa.Boolean, nullable=True))
    unreachable_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    cancelled_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    cancel_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, default=1))


class CallbackAttempt(CrmModel, table=True):
    __tablename__ = "callback_attempts"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    callback_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    outcome: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # reached | no_answer | wrong_number
    note: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, default=""))
    made_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    made_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    made_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    made_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class Survey(CrmModel, table=True):
    """The customer's answers, 1..5 per question of data/survey.json, and their own words, verbatim."""

    __tablename__ = "surveys"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    callback_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    customer_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    repair_order_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    complaint_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    answers: dict[str, Any] = Field(default_factory=empty_dict, sa_column=sa.Column(sa.JSON, nullable=False))
    overall: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    verbatim: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    # {department: {question_code: score}} of the answers at or below the survey's low marks.
    low_answers: dict[str, Any] = Field(default_factory=empty_dict, sa_column=sa.Column(sa.JSON, nullable=False))
    agent: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    agent_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    agent_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    recorded_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False, index=True))
