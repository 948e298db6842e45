from datetime import date, datetime

from pydantic import BaseModel


class OrderLine(BaseModel):
    """One line of a closed repair order, as reception's event carried it."""

    line_id: str
    kind: str
    op_code: str | None = None
    part_no: str | None = None
    description: str
    quantity: str
    unit_price_fen: int
    amount_fen: int
    pay_type: str
    flat_rate_hours: str | None = None


class ClosedRepairOrderPublic(BaseModel):
    id: str
    store_id: str
    number: str
    vin: str
    model: str | None = None
    sold_at: date | None = None
    mileage_km: int
    opened_at: datetime
    settled_at: datetime
    delivered_at: datetime | None = None
    lines: list[OrderLine]
