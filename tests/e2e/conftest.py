import pytest

from tests.support.processes import Platform, PostgresDatabases


@pytest.fixture(scope="module")
def platform(kafka_bootstrap, pg_admin_url, tmp_path_factory):
    """All four services and the gateway as real processes on PostgreSQL and Kafka."""
    databases = PostgresDatabases(pg_admin_url)
    with Platform(tmp_path_factory.mktemp("e2e"), kafka_bootstrap=kafka_bootstrap, database_url=databases) as running:
        yield running
    databases.close()
