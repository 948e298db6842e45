from datetime import time

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from services.common.settings import PlatformSettings


class WorkshopSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="WORKSHOP_", extra="ignore", populate_by_name=True)

    service_name: str = "workshop"
    port: int = 8102
    # A labour operation repeated on a VIN within this many days of delivery is a comeback.
    comeback_window_days: int = Field(default=30, ge=1, le=3650)
    # The workshop's working day in the store's own time zone: the hours technicians work,
    # which is the time an order has left before its promise.
    working_day_start: time = time(8, 30)
    working_day_end: time = time(18, 0)
    # The board's average time in shop is over the orders delivered in this many days.
    time_in_shop_days: int = Field(default=30, ge=1, le=366)

    @model_validator(mode="after")
    def _a_working_day(self) -> "WorkshopSettings":
        if self.working_day_end <= self.working_day_start:
            raise ValueError("WORKSHOP_WORKING_DAY_END must be later than WORKSHOP_WORKING_DAY_START")
        return self
