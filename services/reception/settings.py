from decimal import Decimal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from services.common.reference import warranty_policy
from services.common.settings import PlatformSettings


def _default_labour_rate() -> int:
    return int(warranty_policy()["customer_labour_rate_fen_per_hour_default"])


class ReceptionSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="RECEPTION_", extra="ignore", populate_by_name=True)

    service_name: str = "reception"
    port: int = 8101
    # Customer-pay labour rate; a store may have its own (keyed by store code).
    labour_rate_fen_per_hour: int = Field(default_factory=_default_labour_rate, gt=0)
    labour_rate_by_store: dict[str, int] = Field(default_factory=dict)
    # VAT charged on what the customer pays (China's standard rate for repair services).
    vat_rate: Decimal = Field(default=Decimal("0.13"), ge=0, lt=1, decimal_places=4)
    # Appointments a store takes per clock hour of its local time; a store may differ.
    appointment_capacity_per_hour: int = Field(default=4, ge=0)
    appointment_capacity_by_store: dict[str, int] = Field(default_factory=dict)
    # Hours (store local time) whose slots take bookings: first slot start .. last slot start.
    appointment_first_hour: int = Field(default=8, ge=0, le=23)
    appointment_last_hour: int = Field(default=17, ge=0, le=23)
    appointment_max_days_ahead: int = Field(default=90, ge=1)
    # An order whose estimate (every payer, VAT included) reaches this needs the service
    # manager's sign-off before the customer's yes lets work start; a store may set its own
    # (PUT /v1/stores/{id}/settings). 10,000 CNY.
    high_value_threshold_fen: int = Field(default=1_000_000, gt=0)
    # A signed-off estimate may grow this much (percent of what was signed) before it needs
    # signing again: a few fen of rounding or a wiper blade should not call the manager back.
    sign_off_margin_percent: Decimal = Field(default=Decimal("10"), ge=0, le=1000, decimal_places=2)
    # The promise given at approval: at most this far ahead; when the advisor gives none, the
    # store's closing hour of the day the labour's flat hours, worked in opening hours from now, end.
    promise_max_days_ahead: int = Field(default=60, ge=1, le=366)
    store_day_opens_hour: int = Field(default=8, ge=0, le=23)
    store_day_closes_hour: int = Field(default=18, ge=1, le=24)

    @model_validator(mode="after")
    def _hours_in_order(self):
        if self.appointment_last_hour < self.appointment_first_hour:
            raise ValueError("RECEPTION_APPOINTMENT_LAST_HOUR must not be before RECEPTION_APPOINTMENT_FIRST_HOUR")
        if self.store_day_closes_hour <= self.store_day_opens_hour:
            raise ValueError("RECEPTION_STORE_DAY_CLOSES_HOUR must be after RECEPTION_STORE_DAY_OPENS_HOUR")
        if any(rate <= 0 for rate in self.labour_rate_by_store.values()):
            raise ValueError("RECEPTION_LABOUR_RATE_BY_STORE rates must be positive")
        return self

    def labour_rate_for(self, store_code: str) -> int:
        return self.labour_rate_by_store.get(store_code, self.labour_rate_fen_per_hour)

    def capacity_for(self, store_code: str) -> int:
        return self.appointment_capacity_by_store.get(store_code, self.appointment_capacity_per_hour)
