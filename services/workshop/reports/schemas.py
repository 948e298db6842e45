from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field


class TechnicianFigures(BaseModel):
    jobs_passed: int = Field(description="jobs that passed quality check in the period")
    flat_rate_hours: Decimal = Field(description="flat-rate hours of those jobs")
    clocked_hours: Decimal = Field(description="hours clocked on those jobs, rework included")
    efficiency: Decimal | None = Field(description="flat-rate hours / clocked hours; null when nothing was clocked")
    hours_clocked_in_period: Decimal = Field(description="all hours clocked on any job within the period")
    qc_failures: int = Field(description="quality checks of their work that failed in the period")
    comebacks: int = Field(description="comebacks detected in the period on operations they did")


class TechnicianReportRow(TechnicianFigures):
    technician_id: str
    name: str
    store_id: str
    active: bool


class TechnicianReport(BaseModel):
    date_from: date = Field(serialization_alias="from")
    date_to: date = Field(serialization_alias="to")
    store_id: str | None = None
    technicians: list[TechnicianReportRow]
    totals: TechnicianFigures
