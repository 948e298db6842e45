from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.crm.base import CrmModel


class ChurnEpisode(CrmModel, table=True):
    """A stretch of time a customer stayed away: from detection until the next visit."""

    __tablename__ = "churn_episodes"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    customer_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    # The customer's id while the episode is open, NULL after: one open episode per customer.
    open_key: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True, unique=True))
    level: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # at_risk | lost
    last_visit_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    detected_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False, index=True))
    at_risk_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    lost_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    ended_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    ended_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(100), nullable=True))
    # Working the absence: the cause the clerk found (data/churn_rules.json), and the visit
    # that ended it after win-back calls.
    cause: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    cause_note: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    won_back_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    won_back_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(100), nullable=True))


class WinBackCall(CrmModel, table=True):
    """A call to win back a customer who stayed away, with its result (data/churn_rules.json)."""

    __tablename__ = "win_back_calls"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    episode_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    result: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    note: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    made_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    # Who: the person (or a machine's own key), their name, and the key or sign-in they used.
    made_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    made_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    made_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
