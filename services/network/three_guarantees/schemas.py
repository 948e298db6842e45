from datetime import date, datetime

from pydantic import BaseModel, Field

from services.network.three_guarantees.policy import Kind, SaleDateSource, Status, Validity


class WatchedRepairPublic(BaseModel):
    """One quality repair of the car. Another store's repair shows no order id or number."""

    repair_order_id: str | None = None
    number: str | None = None
    store_id: str
    opened_at: datetime
    finished_at: datetime
    days: int
    problems: list[str]
    serious_safety: bool
    engine_or_transmission_replacement: bool
    counted: bool = Field(description="a quality repair within the validity period: it counts towards the thresholds")
    loaner_owed: bool = Field(description="lasted past the loaner threshold: a loaner or transport allowance is owed")


class ThresholdPublic(BaseModel):
    key: str
    kind: Kind
    problem: str | None = None
    remedy: str = Field(description="replacement | refund")
    name_zh: str
    name_en: str
    value: int
    limit: int
    rule: str = Field(description="over: reached above the limit; at_least: reached at it")
    status: Status


class PolicyPublic(BaseModel):
    effective_from: date
    source: str
    validity_months: int
    validity_km: int
    loaner_if_single_repair_days_over: int
    version: int | None = Field(default=None, description="the Three Guarantees policy's version (GET /v1/policies/"
                                                         "three_guarantees) the car was read by: the one in force "
                                                         "on its latest repair's day (China time)")


class ThreeGuaranteesPublic(BaseModel):
    """A car's standing under the Three Guarantees (三包): what the advisor reads at check-in."""

    vin: str
    sale_date: date | None = None
    sale_date_source: SaleDateSource | None = Field(
        None, description="where the sale date came from: the warranty registration's invoice date, else the vehicle "
                          "record on the car's orders; none: validity unknown")
    selling_store_id: str | None = Field(None, description="the store that registered the sale, when network has it")
    validity: Validity
    valid_until: date | None = None
    latest_mileage_km: int | None = None
    policy: PolicyPublic
    cumulative_repair_days: int
    same_problem_repairs: dict[str, int]
    serious_safety_fault_repairs: int
    engine_or_transmission_replacements: int
    loaner_owed: bool
    thresholds: list[ThresholdPublic]
    one_step_away: list[str] = Field(description="keys of the thresholds one repair away")
    reached: list[str]
    repairs: list[WatchedRepairPublic]


class AtRiskCar(BaseModel):
    vin: str
    store_ids: list[str] = Field(description="the stores (of those the caller sees) that repaired it")
    validity: Validity
    sale_date: date | None = None
    sale_date_source: SaleDateSource | None = None
    selling_store_id: str | None = Field(None, description="the store that registered the sale, when network has it")
    one_step_away: list[str]
    reached: list[str]
    loaner_owed: bool
    last_repair_at: datetime


class AtRiskList(BaseModel):
    items: list[AtRiskCar]
