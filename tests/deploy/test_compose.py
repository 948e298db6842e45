"""docker compose (deploy/docker-compose.yml): the file parses, and its services, health
checks, depends_on conditions, env files, commands and secrets hang together."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.deploy.manifests import (
    COMPOSE_FILE,
    CONDITIONS,
    SECRET_NAME,
    SERVICES,
    TOPICS,
    read_env_file,
    service_env,
)


@pytest.fixture(scope="module")
def compose() -> dict:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


def test_compose_services_and_dependencies_are_consistent(compose):
    services = compose["services"]
    expected = {"kafka", "kafka-topics", "postgres", "gateway"} | {
        f"{s}-{mode}" for s in SERVICES for mode in ("api", "worker", "migrate")
    }
    assert set(services) == expected

    graph = {}
    for name, svc in services.items():
        deps = svc.get("depends_on", {})
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        graph[name] = set(deps)
        for dep, how in deps.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            condition = how.get("condition", "service_started")
            assert condition in CONDITIONS, f"{name} -> {dep}: {condition}"
            target = services[dep]
            if condition == "service_healthy":
                check = target.get("healthcheck")
                assert check and not check.get("disable") and check.get("test"), f"{dep} has no health check"
            if condition == "service_completed_successfully":
                assert str(target.get("restart", "no")) == "no", f"{dep} is a one-shot and must not restart"
        for file in svc.get("env_file", []):
            assert (COMPOSE_FILE.parent / file).is_file(), f"{name}: missing env file {file}"
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (COMPOSE_FILE.parent / source).exists(), f"{name}: missing {source}"
            else:
                assert source in (compose.get("volumes") or {}), f"{name}: undeclared volume {source}"

    # No cycles: compose could never start them.
    order, remaining = [], dict(graph)
    while remaining:
        ready = [n for n, deps in remaining.items() if deps <= set(order)]
        assert ready, f"dependency cycle among {sorted(remaining)}"
        order.extend(sorted(ready))
        for n in ready:
            del remaining[n]

    # Long-running processes carry health checks; one-shots do not restart.
    for name, svc in services.items():
        if name.endswith("-migrate") or name == "kafka-topics":
            assert str(svc.get("restart")) == "no", name
        else:
            assert svc.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_compose_runs_the_contracted_processes(compose):
    services = compose["services"]
    for svc, port in SERVICES.items():
        for mode in ("api", "worker", "migrate"):
            assert services[f"{svc}-{mode}"]["command"] == ["python", "-m", f"services.{svc}", mode]
        env = service_env(services[f"{svc}-api"])
        assert env[f"{svc.upper()}_HOST"] == "0.0.0.0"
        assert int(env[f"{svc.upper()}_PORT"]) == port
        assert int(env[f"{svc.upper()}_WORKER_PORT"]) == port + 100
        assert env[f"{svc.upper()}_DATABASE_URL"].startswith(f"postgresql+asyncpg://{svc}:")
        assert env[f"{svc.upper()}_DATABASE_URL"].endswith(f"@postgres:5432/{svc}")
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        deps = services[f"{svc}-api"]["depends_on"]
        assert deps[f"{svc}-migrate"]["condition"] == "service_completed_successfully"
        assert services["gateway"]["depends_on"][f"{svc}-api"]["condition"] == "service_healthy"
        gateway_env = service_env(services["gateway"])
        assert gateway_env[f"GATEWAY_{svc.upper()}_URL"] == f"http://{svc}-api:{port}"
    assert services["gateway"]["command"] == ["python", "-m", "gateway"]
    assert any(str(p).endswith(":8000") for p in services["gateway"]["ports"])
    published = {name for name, svc in services.items() if svc.get("ports")}
    assert published <= {"gateway", "kafka"}, "service APIs are reached through the gateway only"

    for name, svc in services.items():
        if name in ("kafka", "kafka-topics", "postgres"):
            continue
        assert svc["build"]["context"] == ".." and svc["build"]["dockerfile"] == "Dockerfile", name
        assert (COMPOSE_FILE.parent / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()

    kafka = services["kafka"]
    assert kafka["image"] == "apache/kafka:3.9.2"
    kenv = service_env(kafka)
    assert set(kenv["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}  # KRaft, one node
    assert kenv["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{kenv['KAFKA_NODE_ID']}@kafka:9093"
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", kenv["CLUSTER_ID"])
    assert "INTERNAL://kafka:9092" in kenv["KAFKA_ADVERTISED_LISTENERS"]
    script = "\n".join(services["kafka-topics"]["command"])
    for topic in TOPICS:
        assert re.search(rf"(?<![\w.]){re.escape(topic)}(?![\w.])", script), topic

    postgres = services["postgres"]
    assert re.fullmatch(r"postgres:16([.-].*)?", postgres["image"])
    assert "./postgres-init:/docker-entrypoint-initdb.d:ro" in postgres["volumes"]
    assert service_env(postgres)["SERVICE_DATABASES"].split() == list(SERVICES)


def test_compose_takes_secrets_from_the_callers_environment(compose):
    for path in sorted((COMPOSE_FILE.parent / "env").glob("*.env")):
        for key in read_env_file(path):
            assert not SECRET_NAME.search(key), f"{path.name} holds {key}; secrets come from the environment"
    required = set()
    for name, svc in compose["services"].items():
        for key, value in (svc.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                refs = re.findall(r"\$\{(\w+)(:?[?-])?[^}]*\}", str(value))
                assert refs, f"{name}.{key} must come from the caller's environment"
                for var, op in refs:
                    assert op == ":?", f"{name}.{key}: ${{{var}}} must be required (:?), not defaulted"
                    required.add(var)
                literal = re.sub(r"\$\{[^}]*\}", "", str(value))
                assert not re.search(r":[^/@]+@", literal), f"{name}.{key} embeds a literal password"
    assert {"PLATFORM_IDENTITY_SECRET", "PLATFORM_BOOTSTRAP_KEY", "POSTGRES_PASSWORD",
            "POSTGRES_SERVICE_PASSWORD"} <= required
    # Defaults are allowed only for harmless values.
    for var in re.findall(r"\$\{(\w+):-", COMPOSE_FILE.read_text()):
        assert not SECRET_NAME.search(var), var


def test_compose_configures_postgresql_and_nothing_else(compose):
    """PostgreSQL is the platform's one database: every process that names a database
    names the compose PostgreSQL, and no setting anywhere mentions SQLite."""
    urls = {}
    for name, svc in compose["services"].items():
        env = service_env(svc)
        assert not [k for k, v in env.items() if "sqlite" in f"{k}={v}".lower()], name
        urls.update({f"{name}.{k}": v for k, v in env.items() if k.endswith("DATABASE_URL")})
    assert set(urls) == {f"{svc}-{mode}.{svc.upper()}_DATABASE_URL" for svc in SERVICES
                         for mode in ("api", "worker", "migrate")}
    for where, url in urls.items():
        svc = where.split("-")[0]
        assert re.fullmatch(rf"postgresql\+asyncpg://{svc}:[^@]+@postgres:5432/{svc}", url), where
    for path in sorted((COMPOSE_FILE.parent / "env").glob("*.env")):
        assert "sqlite" not in path.read_text().lower(), path.name
