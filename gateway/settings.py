"""Gateway settings: one object per process, env prefix GATEWAY_; the platform-wide
variables (KAFKA_BOOTSTRAP_SERVERS, KAFKA_TOPIC_PREFIX, PLATFORM_IDENTITY_SECRET,
PLATFORM_ENV) come from PlatformSettings."""
from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from services.common.settings import PlatformSettings, shared
from services.common.strength import refuse_weak

from .upstream import Replicas, UpstreamClient, UpstreamLimits

SERVICES = ("reception", "workshop", "crm", "network")


class GatewaySettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", populate_by_name=True)

    service_name: str = "gateway"
    port: int = 8000

    # Each may list several replicas of the service, comma-separated (gateway.upstream.Replicas).
    reception_url: str = "http://127.0.0.1:8101"
    workshop_url: str = "http://127.0.0.1:8102"
    crm_url: str = "http://127.0.0.1:8103"
    network_url: str = "http://127.0.0.1:8104"

    # Which library forwards the proxied calls (gateway.upstream); key checks, readiness and the
    # OpenAPI fetch always use httpx. upstream_write_timeout and upstream_max_keepalive apply to
    # httpx only; bodies are at most 1 MiB.
    upstream_client: UpstreamClient = "aiohttp"
    upstream_connect_timeout: float = 2.0
    upstream_read_timeout: float = 30.0
    upstream_write_timeout: float = 10.0
    upstream_pool_timeout: float = 5.0
    upstream_max_connections: int = 200
    upstream_max_keepalive: int = 50
    # Below the services' own idle timeout (uvicorn: 5 s), so we never reuse a connection
    # the service is closing at that moment.
    upstream_keepalive_expiry: float = 4.0
    # A service with several replicas: each one's /healthz is asked this often and given this
    # long to answer; one that fails is out of rotation until it answers again.
    upstream_health_interval: float = Field(default=0.5, gt=0)
    upstream_health_timeout: float = Field(default=1.0, gt=0)
    _replicas: dict[str, Replicas] = PrivateAttr(default_factory=dict)

    # Server-sent event streams (gateway/streams.py). One principal (the person, or a
    # machine's key) holds at most stream_max_per_principal at once, per gateway replica;
    # all streams together at most upstream_stream_max_connections, on a pool of upstream
    # connections of their own, so streams never take the connections other calls use. A
    # stream ends after stream_max_seconds with `retry:` advice of stream_retry_ms, and a
    # comment line goes every stream_heartbeat_seconds while the service sends nothing.
    stream_max_per_principal: int = Field(default=3, ge=1)
    upstream_stream_max_connections: int = Field(default=100, ge=1)
    stream_max_seconds: float = Field(default=900.0, gt=0)
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0)
    stream_retry_ms: int = Field(default=3000, ge=0)

    # API-key cache. Entries are refreshed after `key_cache_ttl_seconds` while the
    # invalidation feed (network.events) is live, after `key_cache_fallback_ttl_seconds`
    # while it is not, so a revocation always bites within seconds.
    key_cache_ttl_seconds: float = 30.0
    key_cache_fallback_ttl_seconds: float = 2.0
    # While network cannot answer, a key seen within this long keeps working.
    key_cache_stale_seconds: float = 600.0
    key_cache_max_entries: int = 100_000
    introspect_timeout: float = 2.0
    key_events: bool = True  # consume network.events to invalidate cached keys (and refresh cached people)

    # Staff sign-in: access tokens of the group's OpenID Connect provider beside API keys.
    # Without an issuer, tokens are refused (401) and API keys work as ever.
    oidc_issuer: str | None = None
    oidc_audience: str = "aftersales-api"
    # The store apps' and HQ dashboard's public client (authorization code + PKCE), for /auth/config.
    oidc_client_id: str = "hq-dashboard"
    oidc_scopes: str = "openid profile"
    # Clocks of the provider and the gateway may disagree by this much (exp, nbf, iat).
    oidc_leeway_seconds: int = 30
    # Signing keys are fetched again after this long, and at once for a key id we do not
    # know (the provider rotated its keys), but at most once per `oidc_jwks_refetch_min_seconds`.
    oidc_jwks_ttl_seconds: float = 600.0
    oidc_jwks_refetch_min_seconds: float = 10.0
    oidc_fetch_timeout: float = 5.0
    # The signed-in people of the staff directory, cached as keys are (gateway/people.py).
    person_cache_ttl_seconds: float = 30.0
    person_cache_fallback_ttl_seconds: float = 2.0
    person_cache_stale_seconds: float = 600.0
    person_cache_max_entries: int = 100_000

    # Token buckets: rate is tokens per second, burst the bucket size.
    rate_limit_key_per_second: float = 20.0
    rate_limit_key_burst: int = 60
    rate_limit_client_per_second: float = 50.0
    rate_limit_client_burst: int = 100
    # The keyless outlet application form, per client address.
    rate_limit_public_per_minute: float = 6.0
    rate_limit_public_burst: int = 5

    max_body_bytes: int = 1024 * 1024
    # A caller's request head (PlatformSettings has the timeout): below the services' own
    # limits, so what the gateway forwards, with its identity headers added, still fits there.
    http_max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    http_max_headers: int = Field(default=100, ge=10)

    # Origins of the store web apps allowed to call the API from a browser.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Proxies whose X-Forwarded-For is believed (comma-separated IPs or "*"); none by default.
    forwarded_allow_ips: str | None = None

    # Network issues this HQ admin key; the gateway only checks it when its environment has it
    # (one environment for every process, as make run and compose give), so a weak one stops
    # the platform at its entry too instead of serving with it.
    bootstrap_key: SecretStr | None = shared("PLATFORM_BOOTSTRAP_KEY", default=None)

    openapi_cache_seconds: float = 60.0
    # Services build their document on first request, which takes a while on a busy machine.
    openapi_fetch_timeout: float = 15.0
    readiness_timeout: float = 2.0

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value):
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                import json

                return json.loads(value)
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("bootstrap_key")
    @classmethod
    def _long_and_random(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None  # set but empty: unset, as for network
        refuse_weak("PLATFORM_BOOTSTRAP_KEY", value.get_secret_value())
        return value

    @field_validator("oidc_issuer", mode="before")
    @classmethod
    def _no_empty_issuer(cls, value):
        # GATEWAY_OIDC_ISSUER= (set but empty) means no provider, as unset does.
        return value or None

    @model_validator(mode="after")
    def _issuer_over_tls(self):
        issuer = self.oidc_issuer
        if issuer is not None:
            url = urlsplit(issuer)
            if url.scheme not in ("https", "http") or not url.hostname:
                raise ValueError(f"GATEWAY_OIDC_ISSUER must be an http(s) URL, got {issuer!r}")
            # Tokens and keys from a provider reached in clear could be anyone's.
            if self.env == "production" and url.scheme != "https" and url.hostname not in ("127.0.0.1", "::1",
                                                                                           "localhost"):
                raise ValueError("GATEWAY_OIDC_ISSUER must be https in production (http only on loopback)")
        return self

    @property
    def upstream_limits(self) -> UpstreamLimits:
        return UpstreamLimits(
            max_connections=self.upstream_max_connections, max_keepalive=self.upstream_max_keepalive,
            keepalive_seconds=self.upstream_keepalive_expiry, connect_timeout=self.upstream_connect_timeout,
            read_timeout=self.upstream_read_timeout, write_timeout=self.upstream_write_timeout,
            pool_timeout=self.upstream_pool_timeout, stream_max_connections=self.upstream_stream_max_connections,
            replicas=tuple(self.replicas(s) for s in SERVICES))

    def replicas(self, service: str) -> Replicas:
        """The service's replicas, one object per settings object (it keeps which are in rotation)."""
        replicas = self._replicas.get(service)
        if replicas is None:
            urls = [url.strip() for url in getattr(self, f"{service}_url").split(",") if url.strip()]
            replicas = self._replicas[service] = Replicas(service, urls, interval=self.upstream_health_interval,
                                                          timeout=self.upstream_health_timeout)
        return replicas

    def upstream(self, service: str) -> str:
        """The service's base URL for the next call: its one replica, or the next in rotation."""
        return self.replicas(service).pick()

    @property
    def upstreams(self) -> dict[str, str]:
        return {s: self.upstream(s) for s in SERVICES}
