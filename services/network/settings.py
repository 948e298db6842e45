from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from services.common.settings import PlatformSettings
from services.common.strength import refuse_weak
from services.network.people.accounts import PROVISIONING_CLIENT_ID, REALM, ProviderAdmin


class NetworkSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="NETWORK_", extra="ignore", populate_by_name=True)

    service_name: str = "network"
    port: int = 8104
    bootstrap_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("PLATFORM_BOOTSTRAP_KEY", "NETWORK_BOOTSTRAP_KEY")
    )
    # The public application form: at most this many submissions per client address and window,
    # on top of the gateway's own limit (the form is the one route without a key).
    application_rate_limit: int = Field(default=5, ge=1)
    application_rate_window_seconds: int = Field(default=3600, ge=1)
    # ... and per applicant (the business licence number of the body), from any address: one
    # applicant spread over many addresses is bounded, other applicants are not touched.
    application_licence_limit: int = Field(default=3, ge=1)
    application_licence_window_seconds: int = Field(default=86400, ge=1)
    # A corrective action from a failed audit is due this many days after the audit.
    corrective_action_due_days: int = Field(default=30, ge=1)
    # Per subscriber of /v1/kpis/stream: changes waiting to be sent before the subscriber is
    # told to reload instead (a slow client never holds the projection back).
    kpi_stream_queue_size: int = Field(default=256, ge=1)
    # Staff accounts at the group's OpenID Connect provider (Keycloak), kept from the staff
    # directory. The provider's server (http://host:port, without /realms/...); unset: accounts
    # are not provisioned and sign-ins cannot be issued.
    oidc_admin_url: str | None = None
    oidc_realm: str = REALM
    oidc_client_id: str = PROVISIONING_CLIENT_ID
    oidc_client_secret: SecretStr | None = None
    oidc_timeout_seconds: float = Field(default=10.0, gt=0)
    # Outlet webhooks (services/network/webhooks): plain http to localhost is for tests and
    # development only; everywhere else an endpoint is https.
    webhooks_allow_http_localhost: bool = False
    webhooks_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # A failed delivery is tried again after base, 2 × base, 4 × base ... at most max apart,
    # until it has had max_attempts or retry_hours have passed since it was queued.
    webhooks_retry_base_seconds: float = Field(default=30.0, gt=0)
    webhooks_retry_max_seconds: float = Field(default=3600.0, gt=0)
    webhooks_max_attempts: int = Field(default=30, ge=1)
    webhooks_retry_hours: float = Field(default=24.0, gt=0)
    # Failed calls in a row (spaced by the same backoff) after which an endpoint is paused.
    webhooks_pause_after_failures: int = Field(default=20, ge=1)
    webhooks_poll_seconds: float = Field(default=1.0, gt=0)
    webhooks_concurrency: int = Field(default=4, ge=1, le=64)

    @field_validator("bootstrap_key")
    @classmethod
    def _long_and_random(cls, value: SecretStr | None) -> SecretStr | None:
        # An HQ admin key nobody issued: a guessable one opens the whole platform. Empty means unset.
        if value is None or not value.get_secret_value():
            return None
        refuse_weak("PLATFORM_BOOTSTRAP_KEY", value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _provider(self):
        if self.oidc_admin_url and not self.oidc_client_secret:
            raise ValueError("NETWORK_OIDC_ADMIN_URL is set without NETWORK_OIDC_CLIENT_SECRET, the provisioning "
                             "client's secret")
        return self

    @property
    def provider_admin(self) -> ProviderAdmin | None:
        """Where staff accounts are provisioned, or None when that is off."""
        if not self.oidc_admin_url or self.oidc_client_secret is None:
            return None
        return ProviderAdmin(self.oidc_admin_url, self.oidc_client_secret.get_secret_value(), realm=self.oidc_realm,
                             client_id=self.oidc_client_id, timeout_seconds=self.oidc_timeout_seconds)
