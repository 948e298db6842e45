from datetime import datetime

from pydantic import BaseModel

from services.common.pagination import Page


class ComebackPublic(BaseModel):
    id: str
    store_id: str
    vin: str
    op_code: str
    repair_order_id: str
    line_id: str
    job_id: str | None = None
    original_repair_order_id: str
    original_repair_order_number: str
    original_store_id: str
    original_job_id: str | None = None
    original_technician_id: str | None = None
    original_delivered_at: datetime
    approved_at: datetime
    days_since_delivery: int
    detected_at: datetime


ComebackList = Page[ComebackPublic]
