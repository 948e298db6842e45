from datetime import date, datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from services.common.inputs import Day
from services.network.calendar import HQ_ZONE as CHINA

VIN_PATTERN = r"^[A-HJ-NPR-Z0-9]{17}$"  # ISO 3779: 17 characters, never I, O or Q


class PdiItemResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=64, description="an item of data/pdi_checklist.json")
    ok: bool = Field(description="passed as found; false when a defect was found on it")
    note: str | None = Field(default=None, max_length=1000)


class PdiDefect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_code: str = Field(max_length=64, description="the checklist item the defect was found on")
    description: str = Field(min_length=1, max_length=2000)
    fixed: bool = Field(description="fixed before delivery")
    fix: str | None = Field(default=None, max_length=2000, description="what was done")


class PdiCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_id: str | None = Field(default=None, max_length=64,
                                 description="the store doing the inspection; a store's caller: its own (default)")
    inspected_on: Day
    items: list[PdiItemResult] = Field(description="every item of the checklist, once")
    defects: list[PdiDefect] = Field(default_factory=list, description="the defects found")


class PdiPublic(BaseModel):
    id: str
    vin: str
    store_id: str
    inspected_on: Day
    items: list[PdiItemResult]
    defects: list[PdiDefect]
    all_fixed: bool = Field(description="every defect found was fixed before delivery")
    recorded_at: datetime
    recorded_by: str = Field(description="the person (for a machine's own key, the key's id)")
    recorded_by_name: str | None = None
    recorded_by_credential: str | None = Field(default=None, description='"key:<key id>" or "token:<sign-in>"')


class BuyerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=5, max_length=32)




def _day_of(value: Any) -> Any:
    """A hand-over given as a moment ("2026-03-01T10:30:00+08:00") is the day it fell on in
    China; a bare date stays as it is."""
    if isinstance(value, str) and "T" in value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return (moment.astimezone(CHINA) if moment.tzinfo else moment).date()
    if isinstance(value, datetime):
        return (value.astimezone(CHINA) if value.tzinfo else value).date()
    return value


class RegistrationCreate(BaseModel):
    """The contract's names (`delivered_at`, `mileage_km`; the VIN in the path) and the ones
    this API was first written with (`delivery_date`, `mileage_at_delivery_km`; `vin` in the
    body of `POST /v1/vehicles/registrations`) are both taken."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    vin: str | None = Field(default=None, pattern=VIN_PATTERN,
                            description="17 characters, upper case, no I, O or Q; in the path of /{vin}/registration")
    buyer: BuyerIn
    model: str | None = Field(default=None, max_length=100)
    invoice_date: Day = Field(description="the sales invoice's date: warranty and the Three Guarantees run from it")
    delivery_date: Day = Field(validation_alias=AliasChoices("delivered_at", "delivery_date"),
                               description="`delivered_at`: the day (or moment) the buyer drove off; first "
                                           "maintenance runs from it")
    mileage_at_delivery_km: int = Field(ge=0, le=1000, validation_alias=AliasChoices("mileage_km",
                                                                                     "mileage_at_delivery_km"),
                                        description="`mileage_km`: the odometer at hand-over")
    store_id: str = Field(max_length=64, description="the selling store; a store's caller registers its own sales")

    @field_validator("vin", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("delivery_date", mode="before")
    @classmethod
    def _hand_over_day(cls, value: Any) -> Any:
        return _day_of(value)


class RegistrationChanges(BaseModel):
    """The fields to correct; those left out keep their value."""

    model_config = ConfigDict(extra="forbid")

    buyer: BuyerIn | None = None
    model: str | None = Field(default=None, max_length=100)
    invoice_date: Day | None = None
    delivery_date: Day | None = None
    mileage_at_delivery_km: int | None = Field(default=None, ge=0, le=1000)


class RegistrationCorrectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    changes: RegistrationChanges
    reason: str = Field(min_length=3, max_length=2000, description="why the registration was wrong")


class CorrectionPublic(BaseModel):
    id: str
    changes: dict[str, dict[str, Any]] = Field(description='field → {"from": old, "to": new}')
    reason: str
    corrected_at: datetime
    corrected_by: str
    corrected_by_name: str | None = None
    corrected_by_credential: str | None = None


class RegistrationPublic(BaseModel):
    vin: str
    store_id: str
    buyer: BuyerIn | None = Field(description="null for another store than the selling one")
    model: str | None = None
    invoice_date: Day
    delivery_date: Day
    mileage_at_delivery_km: int
    registered_at: datetime
    registered_by: str
    registered_by_name: str | None = None
    registered_by_credential: str | None = None
    corrected_at: datetime | None = None
    corrections: list[CorrectionPublic] = Field(default_factory=list)
    version: int


class Cover(BaseModel):
    """One kind of warranty cover (data/warranty_policy.json) of the car."""

    name: str
    categories: list[str]
    valid_from: date
    valid_to: date | None = Field(description="the last day covered; null: no time limit")
    km_limit: int | None = Field(description="covered up to this odometer reading; null: no limit")


class FirstMaintenance(BaseModel):
    due_on: date
    due_km: int
    op_code: str


class VehiclePublic(BaseModel):
    vin: str
    registered: bool
    registration: RegistrationPublic | None = None
    pdi: list[PdiPublic] = Field(description="the PDI sheets, oldest first")
    warranty: list[Cover] = Field(description="empty until the car is registered")
    first_maintenance: FirstMaintenance | None = None
