from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.workshop.base import WorkshopModel


class SubletLine(WorkshopModel, table=True):
    """An approved sublet line (work bought from another firm: glass, paint, machining) and
    what the store paid for it, recorded when the vendor's bill comes in."""

    __tablename__ = "sublet_lines"
    __table_args__ = (sa.UniqueConstraint("repair_order_id", "line_id", name="uq_sublet_lines_order_line"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    repair_order_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    line_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    description: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    pay_type: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    cost_fen: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    vendor: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    recorded_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    recorded_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    recorded_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    recorded_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
