from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.network.base import NetworkModel

BigInt = sa.BigInteger()


class StoreTarget(NetworkModel, table=True):
    """One measure of a store's year, as HQ set it."""

    __tablename__ = "store_targets"
    __table_args__ = (sa.PrimaryKeyConstraint("store_id", "year", "measure", name="pk_store_targets"),)

    store_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("stores.id"), nullable=False))
    year: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    measure: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))  # a Measure
    value: int = Field(sa_column=sa.Column(BigInt, nullable=False))
    set_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    set_at: datetime = Field(sa_type=UTCDateTime)


class StoreMonthTarget(NetworkModel, table=True):
    """One measure of one month of a store's year, as the store split it."""

    __tablename__ = "store_month_targets"
    __table_args__ = (
        sa.PrimaryKeyConstraint("store_id", "year", "month", "measure", name="pk_store_month_targets"),
    )

    store_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("stores.id"), nullable=False))
    year: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    month: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    measure: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    value: int = Field(sa_column=sa.Column(BigInt, nullable=False))
    set_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    set_at: datetime = Field(sa_type=UTCDateTime)


class PersonMonthTarget(NetworkModel, table=True):
    """One person's share of one measure of one month of a store's year."""

    __tablename__ = "person_month_targets"
    __table_args__ = (
        sa.PrimaryKeyConstraint("store_id", "year", "month", "person_id", "measure", name="pk_person_month_targets"),
        sa.Index("ix_person_month_targets_person", "person_id", "year", "month"),
    )

    store_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("stores.id"), nullable=False))
    year: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    month: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    person_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("people.id"), nullable=False))
    measure: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    value: int = Field(sa_column=sa.Column(BigInt, nullable=False))
    set_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    set_at: datetime = Field(sa_type=UTCDateTime)
