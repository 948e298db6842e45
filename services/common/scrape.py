"""Who may read /metrics: a scraper sending `Authorization: Bearer <PLATFORM_METRICS_TOKEN>`,
at the gateway and at every service's API and worker alike (docs/gateway.md says why a
credential and not a port of its own). Without a configured token nobody may."""
from __future__ import annotations

import hmac

from pydantic import SecretStr

METRICS_REALM = 'Bearer realm="metrics"'
NO_TOKEN = ("/metrics 需要监控凭据 / needs the metrics credential: send Authorization: Bearer "
            "<PLATFORM_METRICS_TOKEN>")
NOT_CONFIGURED = ("/metrics 未开放 / is not served: PLATFORM_METRICS_TOKEN is not set on this process, "
                  "so no scraper can be told apart from anyone else")


def refusal(expected: SecretStr | None, authorization: str | None) -> str | None:
    """Why this request may not read /metrics, or None when it may."""
    if expected is None:
        return NOT_CONFIGURED
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                             expected.get_secret_value().encode()):
        return NO_TOKEN
    return None
