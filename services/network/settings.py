from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import PlatformSettings


class NetworkSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="NETWORK_", extra="ignore", populate_by_name=True)

    service_name: str = "network"
    port: int = 8104
    bootstrap_key: str | None = Field(default=None, validation_alias=AliasChoices("PLATFORM_BOOTSTRAP_KEY", "NETWORK_BOOTSTRAP_KEY"))
