from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime, empty_dict, empty_list
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
    # {code: [choice, ...]} of data/survey_extra_questions.json (where else the car is serviced): never scored.
    extra_answers: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    agent: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    agent_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    agent_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    recorded_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False, index=True))


class StoreCallWindows(CrmModel, table=True):
    """A store's own call windows, replacing data/call_windows.json's defaults for it."""

    __tablename__ = "store_call_windows"

    store_id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    # [{"start": "09:30", "end": "11:30", "part": "morning"}, ...]
    windows: list[dict[str, Any]] = Field(default_factory=empty_list, sa_column=sa.Column(sa.JSON, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    # Who: the person (or a machine's own key), their name, and the key or sign-in they used.
    updated_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    updated_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    updated_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))


class CallTask(CrmModel, table=True):
    """A call the information clerk owes besides the survey callbacks: the 7-day tracking
    call after handover, and the follow-up call a week after a maintenance invitation."""

    __tablename__ = "call_tasks"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    kind: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))  # tracking | invitation_follow_up
    # "tracking:<order>", "invitation:<reminder>": never twice.
    origin_key: str = Field(sa_column=sa.Column(sa.String(160), nullable=False, unique=True))
    customer_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True, index=True))
    vin: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    repair_order_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    repair_order_number: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    reminder_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    advisor_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    due_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False, index=True))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # pending | done | cancelled
    result: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    note: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    done_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    done_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    done_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    done_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))


class ReturnRepair(CrmModel, table=True):
    """A return repair (返修) a customer reported on a call, for the service manager; linked
    as a comeback when the car is brought in again."""

    __tablename__ = "return_repairs"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    customer_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    vin: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, index=True))
    repair_order_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    repair_order_number: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    reported_via: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))  # callback:<id> | call:<id>
    description: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # reported | came_back
    reported_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    reported_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    reported_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    reported_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    comeback_repair_order_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    came_back_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))


class MemberSuggestion(CrmModel, table=True):
    """A club member's suggestion, taken on a call and kept word for word."""

    __tablename__ = "member_suggestions"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    customer_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    via: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    recorded_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    recorded_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    recorded_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    recorded_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))


class BookingOffer(CrmModel, table=True):
    """The next service offered on a call and accepted; reception books it, and its
    appointment.booked for the VIN marks the offer booked."""

    __tablename__ = "booking_offers"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    customer_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    vin: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, index=True))
    via: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    op_code: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    service_type: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    scheduled_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    offered_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    offered_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    offered_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    offered_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    appointment_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    booked_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
