"""Shared fixtures: one real Kafka broker and one real PostgreSQL cluster per test
session (started here unless KAFKA_BOOTSTRAP_SERVERS / TEST_PG_ADMIN_URL name running
ones), a fresh database and a fresh topic namespace per test."""
from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support.platform import unique_prefix

# `make test TEST_WORKERS=2` runs on two xdist workers (`--dist loadgroup`), each with its
# own broker, PostgreSQL and, when asked for, Keycloak. Most tests wait on the broker more
# than they use a core (CRM's tests alone: 0.63 of the serial time). Tests named here stay
# together on one worker: those sharing one session-wide platform (started once, not once per worker),
# and the drills that each run a cluster or kill processes, which would starve one another.
XDIST_GROUPS = {
    "tests/security/": "security-platform",
    "tests/reliability/": "drills",
    "tests/deploy/test_local_run.py": "drills",
    "tests/tools/test_demo.py": "drills",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for prefix, group in XDIST_GROUPS.items():
            if item.nodeid.startswith(prefix):
                item.add_marker(pytest.mark.xdist_group(group))
                break


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory):
    """The broker object when this session started it (fault tests restart it), else None."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield None
        return
    from deploy.kafka.broker import KafkaBroker

    broker = KafkaBroker(tmp_path_factory.mktemp("kafka"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker) -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or kafka_broker.bootstrap_servers


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory):
    if os.environ.get("TEST_PG_ADMIN_URL"):
        yield None
        return
    from deploy.postgres.cluster import PostgresCluster

    cluster = PostgresCluster(tmp_path_factory.mktemp("pg"))
    cluster.start()
    yield cluster
    cluster.remove()


@pytest.fixture(scope="session")
def pg_admin_url(pg_cluster) -> str:
    return os.environ.get("TEST_PG_ADMIN_URL") or pg_cluster.admin_url


def _admin_runner(pg_admin_url: str):
    import asyncio

    import asyncpg

    admin = make_url(pg_admin_url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def _exec(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def run(sql: str) -> None:
        # In a thread of its own, so it works inside async tests too.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, _exec(sql)).result()

    return run


@pytest.fixture(scope="session")
def pg_template(pg_admin_url):
    """The name of a database built once per test session by a migrations folder, for
    tests to copy (`CREATE DATABASE ... TEMPLATE`, a file copy) instead of migrating anew."""
    from services.common.migrations import upgrade

    run = _admin_runner(pg_admin_url)
    built: dict[Path, str] = {}

    def template(migrations_dir: Path) -> str:
        if migrations_dir not in built:
            name = f"template_{migrations_dir.parent.name}_{uuid.uuid4().hex[:8]}"
            run(f'CREATE DATABASE "{name}"')
            url = make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
            # Alembic runs its own event loop: in a thread, so async fixtures can ask too.
            with ThreadPoolExecutor(1) as pool:
                pool.submit(upgrade, migrations_dir, url).result()
            built[migrations_dir] = name
        return built[migrations_dir]

    yield template
    for name in built.values():
        try:
            run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception:
            pass


@pytest.fixture
def pg_database(pg_admin_url):
    """A fresh PostgreSQL database for one test; returns a factory so a test can have several.
    `template` names a database to copy (see `migrated_database`)."""
    run = _admin_runner(pg_admin_url)
    created: list[str] = []

    def make(label: str = "db", template: str | None = None) -> str:
        name = f"{label}_{uuid.uuid4().hex[:12]}"
        run(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        created.append(name)
        return make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)

    yield make
    for name in created:
        try:
            run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception:
            pass


@pytest.fixture
def migrated_database(pg_template, pg_database):
    """A factory of fresh databases already at the head of a migrations folder."""

    def make(migrations_dir: Path, label: str = "db") -> str:
        return pg_database(label, template=pg_template(migrations_dir))

    return make


@pytest.fixture
def pg_url(pg_database) -> str:
    """One fresh PostgreSQL database for this test."""
    return pg_database()


@pytest.fixture
def topic_prefix() -> str:
    return unique_prefix()


@pytest.fixture(scope="session")
def oidc_provider(request, tmp_path_factory):
    """The staff's OpenID Connect provider (deploy.oidc.keycloak.OidcProvider): a Keycloak
    started on first use, on a database of the session's PostgreSQL, with the tests' password-grant
    client. OIDC_ISSUER_URL and OIDC_PROVISIONING_SECRET name a running one instead (started with
    `python -m deploy.oidc.keycloak start --password-grant-client`; the secret is in its credentials.json)."""
    from deploy.oidc.keycloak import PASSWORD_GRANT_CLIENT_ID, OidcProvider

    issuer = os.environ.get("OIDC_ISSUER_URL")
    if issuer:
        secret = os.environ.get("OIDC_PROVISIONING_SECRET")
        if not secret:
            raise RuntimeError("OIDC_ISSUER_URL is set without OIDC_PROVISIONING_SECRET (see credentials.json)")
        yield OidcProvider(issuer=issuer.rstrip("/"), provisioning_client_secret=secret,
                           password_grant_client_id=PASSWORD_GRANT_CLIENT_ID)
        return
    from deploy.oidc.keycloak import KeycloakServer

    # asked for only here, so a session given OIDC_ISSUER_URL and nothing else needs no PostgreSQL
    pg_admin_url = request.getfixturevalue("pg_admin_url")
    run = _admin_runner(pg_admin_url)
    name = f"keycloak_{uuid.uuid4().hex[:8]}"
    run(f'CREATE DATABASE "{name}"')
    url = make_url(pg_admin_url).set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    server = KeycloakServer(tmp_path_factory.mktemp("keycloak"), url, password_grant_client=True)
    server.start()
    try:
        yield server.provider
    finally:
        server.stop()
        try:
            run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception:
            pass
