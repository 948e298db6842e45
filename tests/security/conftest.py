"""One real platform (every service present in this checkout, and the gateway, as
processes on PostgreSQL and the real broker) shared by the security tests; each test
makes its own stores and keys, so none depends on another."""
from __future__ import annotations

import pytest

from tests.support.processes import Platform, PostgresDatabases

# Long key-cache TTLs: a key that stops working within seconds was stopped by
# network's events, not by the cache expiring.
GATEWAY_ENV = {
    "GATEWAY_KEY_CACHE_TTL_SECONDS": "300",
    "GATEWAY_KEY_CACHE_FALLBACK_TTL_SECONDS": "300",
    "GATEWAY_RATE_LIMIT_KEY_PER_SECOND": "1000", "GATEWAY_RATE_LIMIT_KEY_BURST": "1000",
    "GATEWAY_RATE_LIMIT_CLIENT_PER_SECOND": "1000", "GATEWAY_RATE_LIMIT_CLIENT_BURST": "1000",
}


@pytest.fixture(scope="session")
def platform(tmp_path_factory, kafka_bootstrap, pg_admin_url):
    databases = PostgresDatabases(pg_admin_url)
    try:
        with Platform(tmp_path_factory.mktemp("platform"), kafka_bootstrap=kafka_bootstrap,
                      database_url=databases, gateway_env=GATEWAY_ENV) as running:
            yield running
    finally:
        databases.close()
