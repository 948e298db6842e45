from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from services.common.pagination import Page
from services.workshop.jobs.schemas import JobPublic
from services.workshop.parts.schemas import ReservationPublic

OrderStatus = Literal["approved", "in_progress", "ready", "cancelled", "delivered"]


class WorkshopOrderPublic(BaseModel):
    id: str
    store_id: str
    number: str
    vin: str
    plate: str | None = None
    model: str | None = None
    status: OrderStatus
    approved_at: datetime
    work_started_at: datetime | None = None
    ready_at: datetime | None = None
    cancelled_at: datetime | None = None
    delivered_at: datetime | None = None
    updated_at: datetime


class WorkshopOrderDetail(WorkshopOrderPublic):
    jobs: list[JobPublic]
    reservations: list[ReservationPublic]


WorkshopOrderList = Page[WorkshopOrderPublic]
