from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.crm.base import CrmModel


class VehicleTransfer(CrmModel, table=True):
    """A change of owner recorded from the transfer papers (过户), at the car's home store."""

    __tablename__ = "vehicle_transfers"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    vin: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, index=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    from_customer_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    to_customer_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    papers_reference: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    transfer_date: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    reminders_moved: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    transferred_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    # Who: the person (or a machine's own key), their name, and the key or sign-in they used.
    transferred_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    transferred_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    transferred_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
