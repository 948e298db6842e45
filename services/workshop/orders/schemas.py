from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.common.pagination import Page
from services.workshop.board.schemas import PromiseOutlook
from services.workshop.jobs.schemas import JobPublic
from services.workshop.parts.schemas import ReservationPublic

OrderStatus = Literal["awaiting_approval", "approved", "in_progress", "ready", "cancelled", "delivered"]


class WorkshopOrderPublic(BaseModel):
    id: str
    store_id: str
    number: str
    vin: str
    plate: str | None = None
    model: str | None = None
    status: OrderStatus
    opened_at: datetime | None = Field(default=None, description="opened at reception, when the workshop saw it")
    approved_at: datetime | None = Field(default=None, description="None while it waits for the customer's approval")
    promised_at: datetime | None = Field(default=None, description="when reception promised the car back")
    work_started_at: datetime | None = None
    ready_at: datetime | None = None
    cancelled_at: datetime | None = None
    delivered_at: datetime | None = None
    costed_at: datetime | None = None
    updated_at: datetime
    promise: PromiseOutlook | None = Field(default=None, description="for an unready order with a promised time: "
                                           "the work left against the working time left, and whether it is at risk")


class WorkshopOrderDetail(WorkshopOrderPublic):
    jobs: list[JobPublic]
    reservations: list[ReservationPublic]


WorkshopOrderList = Page[WorkshopOrderPublic]
