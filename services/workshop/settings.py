from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import PlatformSettings


class WorkshopSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="WORKSHOP_", extra="ignore", populate_by_name=True)

    service_name: str = "workshop"
    port: int = 8102
    # A labour operation repeated on a VIN within this many days of delivery is a comeback.
    comeback_window_days: int = Field(default=30, ge=1, le=3650)
