from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.network.targets.policy import MAX_COUNT, MAX_FEN, Measure, TargetSource, Unit

Count = Annotated[int, Field(ge=0, le=MAX_COUNT, description="repair orders delivered")]
Fen = Annotated[int, Field(ge=0, le=MAX_FEN, description="fen")]
Margin = Annotated[int, Field(ge=-MAX_FEN, le=MAX_FEN, description="fen; a loss is negative")]
Csi = Annotated[int, Field(ge=1000, le=5000, description="thousandths of a point of the 1..5 score: 4600 = 4.6")]
PerMille = Annotated[int, Field(ge=0, le=1000, description="per mille: 950 = 95.0 %")]
Year = Annotated[int, Field(ge=2000, le=2100)]
MonthNo = Annotated[int, Field(ge=1, le=12)]


class TargetValues(BaseModel):
    """One figure per measure; a measure left out has no target. Counts and money add up
    (months to the year, people to the month); rates are set as they are."""

    model_config = ConfigDict(extra="forbid")

    repair_orders: Count | None = None
    labour_revenue_fen: Fen | None = None
    parts_revenue_fen: Fen | None = None
    accessories_revenue_fen: Fen | None = None
    gross_margin_fen: Margin | None = None
    csi: Csi | None = None
    callback_sla: PerMille | None = None
    first_time_fix: PerMille | None = None

    def given(self) -> dict[Measure, int]:
        return {m: getattr(self, m.value) for m in Measure if getattr(self, m.value) is not None}


class AnnualTargets(BaseModel):
    store_id: str
    year: int
    targets: TargetValues
    set_by: str | None = None
    set_at: datetime | None = None
    splits_dropped: list[Measure] = Field(default_factory=list, description=(
        "measures whose month and people split this change dropped: their year changed, so the store splits again"))


class MonthTargetIn(TargetValues):
    month: MonthNo


class MonthTargetsIn(BaseModel):
    months: list[MonthTargetIn] = Field(min_length=12, max_length=12, description="months 1 to 12, each once")


class MonthTargets(BaseModel):
    store_id: str
    year: int
    annual: TargetValues
    months: list[MonthTargetIn] = Field(description="the store's split; empty until it splits")
    set_by: str | None = None
    set_at: datetime | None = None
    shares_dropped: list[str] = Field(default_factory=list, description=(
        "'<month>:<measure>' whose people's shares this change dropped: the store's month changed"))


class PersonMonthTargetIn(TargetValues):
    person_id: str = Field(min_length=1, max_length=64)
    month: MonthNo


class PeopleTargetsIn(BaseModel):
    people: list[PersonMonthTargetIn] = Field(max_length=6000, description=(
        "each person's share of each month, one entry per person and month; replaces the year's shares"))


class PersonTargetIn(TargetValues):
    person_id: str = Field(min_length=1, max_length=64)


class PeopleMonthTargetsIn(BaseModel):
    people: list[PersonTargetIn] = Field(max_length=500, description=(
        "each person's share of the month in the path, one entry per person; replaces that month's shares"))


class PersonMonthTarget(PersonMonthTargetIn):
    name: str
    role: str


class PeopleTargets(BaseModel):
    store_id: str
    year: int
    people: list[PersonMonthTarget]
    set_by: str | None = None
    set_at: datetime | None = None


class MeasureAttainment(BaseModel):
    measure: Measure
    unit: Unit
    target: int | None
    target_source: TargetSource | None = None
    actual: int | None = Field(description="null: nothing to divide by yet, or not measured (see not_measured)")
    attained: Decimal | None = Field(description="actual / target, 4 places")
    projected: int | None = Field(description="the month's end at the current pace (a rate: as it stands)")
    projected_attained: Decimal | None
    not_measured: str | None = None


class PersonAttainment(BaseModel):
    person_id: str
    name: str
    role: str | None
    store_id: str
    measures: list[MeasureAttainment]


class StoreAttainment(BaseModel):
    store_id: str
    store_code: str
    store_name: str
    region: str
    timezone: str
    days_in_month: int
    days_elapsed: int
    measures: list[MeasureAttainment]
    people: list[PersonAttainment] | None = Field(default=None, description=(
        "the store's people with a target or an actual: for HQ and the store's managers when one store is asked "
        "for; a store's other callers see themselves"))


class GroupAttainment(BaseModel):
    region: str | None = Field(description="null for the whole network")
    store_ids: list[str]
    measures: list[MeasureAttainment]


class AttainmentReport(BaseModel):
    period: str
    as_of: datetime
    stores: list[StoreAttainment]
    regions: list[GroupAttainment]
    network: GroupAttainment


class PersonAttainmentReport(BaseModel):
    person_id: str
    name: str
    period: str
    as_of: datetime
    stores: list[PersonAttainment]
