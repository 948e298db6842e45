from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import PlatformSettings


class NetworkSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="NETWORK_", extra="ignore", populate_by_name=True)

    service_name: str = "network"
    port: int = 8104
    bootstrap_key: str | None = Field(
        default=None, validation_alias=AliasChoices("PLATFORM_BOOTSTRAP_KEY", "NETWORK_BOOTSTRAP_KEY")
    )
    # The public application form: at most this many submissions per client address and window,
    # on top of the gateway's own limit (the form is the one route without a key).
    application_rate_limit: int = Field(default=5, ge=1)
    application_rate_window_seconds: int = Field(default=3600, ge=1)
    # A corrective action from a failed audit is due this many days after the audit.
    corrective_action_due_days: int = Field(default=30, ge=1)
    # Per subscriber of /v1/kpis/stream: changes waiting to be sent before the subscriber is
    # told to reload instead (a slow client never holds the projection back).
    kpi_stream_queue_size: int = Field(default=256, ge=1)
