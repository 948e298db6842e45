from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime, empty_list
from services.crm.base import CrmModel


class BaseCar(CrmModel, table=True):
    """One car in one advisor's customer base at one store: the advisor who served its last
    visit there, or the one the service manager gave it to since. A car visiting two stores
    of the group is in a base at each (each store keeps its own relationship)."""

    __tablename__ = "customer_base"
    __table_args__ = (
        sa.UniqueConstraint("store_id", "vin", name="uq_customer_base_store_vin"),
        sa.Index("ix_customer_base_store_advisor", "store_id", "advisor_id"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    vin: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    advisor_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    advisor_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    # The car's customer at this store: whoever brought it in last, its new owner after a transfer.
    customer_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    # The last visit: the repair order, when it was opened (the car came in) and who served it.
    last_visit_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    last_repair_order_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    last_served_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    last_served_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    came_by: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # served | reassigned | moved
    since: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))  # in this advisor's base since
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class BaseReassignment(CrmModel, table=True):
    """The service manager handing an advisor's base (or one car of it) to others."""

    __tablename__ = "customer_base_reassignments"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # whole_base | one_car
    from_person_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    to_person_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))  # None: split
    vin: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    # [{advisor_id, advisor_name, vehicles}]: how many cars went to whom.
    shares: list[dict[str, Any]] = Field(default_factory=empty_list, sa_column=sa.Column(sa.JSON, nullable=False))
    vehicles: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    reassigned_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    # Who: the person (or a machine's own key), their name, and the key or sign-in they used.
    reassigned_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    reassigned_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    reassigned_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
