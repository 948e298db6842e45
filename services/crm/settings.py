from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import PlatformSettings


class CrmSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore", populate_by_name=True)

    service_name: str = "crm"
    port: int = 8103
    # A maintenance reminder nobody acted on stops being a reminder this long after its due date.
    reminder_expire_after_days: int = Field(default=30, ge=1, le=365)
