"""`python -m gateway`: serve the gateway on GATEWAY_HOST:GATEWAY_PORT (127.0.0.1:8000)."""
from __future__ import annotations

import argparse

from gateway.main import create_app
from gateway.settings import GatewaySettings
from services.common.heap import freeze_startup_objects
from services.common.server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gateway",
        description="The platform's public entry: API keys, permission matrix, rate limits, signed identity, "
        "merged OpenAPI (/openapi.json, /docs), AsyncAPI (/asyncapi.json) and the HQ dashboard (/dashboard). "
        "Configured by environment: GATEWAY_HOST, GATEWAY_PORT, GATEWAY_<SERVICE>_URL, "
        "PLATFORM_IDENTITY_SECRET, KAFKA_BOOTSTRAP_SERVERS, KAFKA_TOPIC_PREFIX (see docs/gateway.md).",
    )
    parser.parse_args(argv)
    settings = GatewaySettings()
    app = create_app(settings)
    trusted = settings.forwarded_allow_ips
    freeze_startup_objects()
    serve(app, settings, proxy_headers=bool(trusted), forwarded_allow_ips=trusted or None, timeout_keep_alive=30)


if __name__ == "__main__":
    main()
