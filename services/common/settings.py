"""Settings base: every process reads one settings object once, and fails fast on
placeholder secrets outside development."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .strength import refuse_weak

REPO_ROOT = Path(__file__).resolve().parents[2]
DEV_IDENTITY_SECRET = "dev-only-identity-secret-change-me"


def shared(name: str, *, default, **kwargs):
    """A platform-wide variable (no service prefix), e.g. KAFKA_BOOTSTRAP_SERVERS."""
    return Field(default=default, validation_alias=AliasChoices(name, name.lower()), **kwargs)


class PlatformSettings(BaseSettings):
    """Fields every service has. Subclasses set `service_name` and an env prefix."""

    # A refused setting may be a secret (PLATFORM_BOOTSTRAP_KEY): the start-up error must not print it.
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, hide_input_in_errors=True)

    service_name: str = "service"
    env: Literal["development", "test", "production"] = shared("PLATFORM_ENV", default="development")
    host: str = "127.0.0.1"
    port: int = 8100
    # Defaults worked out from the fields above them (pydantic passes those, validated).
    worker_port: int = Field(default_factory=lambda fields: fields["port"] + 100)
    # `make run`'s PostgreSQL, one database per service as in production.
    database_url: str = Field(
        default_factory=lambda fields: f"postgresql+asyncpg://postgres@127.0.0.1:5432/{fields['service_name']}"
    )
    kafka_bootstrap_servers: str = shared("KAFKA_BOOTSTRAP_SERVERS", default="127.0.0.1:9092")
    kafka_topic_partitions: int = shared("KAFKA_TOPIC_PARTITIONS", default=3)
    kafka_replication_factor: int = shared("KAFKA_REPLICATION_FACTOR", default=1)
    # Tests and drills run several isolated platforms on one broker.
    kafka_topic_prefix: str = shared("KAFKA_TOPIC_PREFIX", default="")
    identity_secret: str = shared("PLATFORM_IDENTITY_SECRET", default=DEV_IDENTITY_SECRET)
    # How long a signed identity is good for (either side of this process's clock); each
    # nonce is kept that long, so it also sizes the replay ledger (docs/identity.md).
    identity_max_age_seconds: int = 30
    # Nonces alive at once in one process: max age x requests a second; past it the oldest go early.
    identity_nonce_capacity: int = 500_000
    relay_batch_size: int = 1000
    relay_max_inflight_batches: int = 4
    relay_poll_seconds: float = 1.0
    consumer_max_attempts: int = 5
    # Events of one fetch (all partitions, each in its order) applied in one transaction (1: each in its own).
    consumer_batch_size: int = 100
    # How long the broker may hold a fetch that finds no new records. It is also the longest
    # a busy partition's next records can wait: aiokafka sends one fetch at a time per broker,
    # and while a batch is being applied it fetches the partitions that had nothing (a quiet
    # topic) on their own; the broker holds that fetch this long before the busy ones can be
    # fetched again. Kafka's default of 500 ms put up to half a second on delivery -> callback.
    consumer_fetch_max_wait_ms: int = 100
    consumer_retry_base_seconds: float = 0.2
    # The request head (request line and headers) an HTTP client may send: more is 431 and the
    # connection closed; a client that has not sent all of it this long after connecting, or
    # after its first byte on a kept-alive connection, is cut off (services.common.server).
    # Above the gateway's (16 KiB, 100): it passes a caller's headers on and adds its own.
    http_max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    http_max_headers: int = Field(default=150, ge=10)
    http_header_timeout_seconds: float = Field(default=10.0, gt=0)
    log_level: str = shared("LOG_LEVEL", default="INFO")
    # "system", or "file:<path>" for demos that replay months of activity (clock.FileClock).
    clock: str = shared("PLATFORM_CLOCK", default="system")
    # What a scraper sends for /metrics (services.common.scrape); unset, /metrics is refused to all.
    metrics_token: SecretStr | None = shared("PLATFORM_METRICS_TOKEN", default=None)

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token_random(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None  # set but empty: unset
        refuse_weak("PLATFORM_METRICS_TOKEN", value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _secrets(self):
        if self.env == "production" and (
            self.identity_secret == DEV_IDENTITY_SECRET or len(self.identity_secret) < 32
        ):
            raise ValueError(
                "PLATFORM_IDENTITY_SECRET must be set to a random value of 32+ characters in production"
            )
        return self

    def topic(self, service: str) -> str:
        return f"{self.kafka_topic_prefix}{service}.events"

    @property
    def consumer_group(self) -> str:
        return f"{self.kafka_topic_prefix}{self.service_name}"
