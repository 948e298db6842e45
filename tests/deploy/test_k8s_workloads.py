"""Kubernetes workloads of both overlays: the process contract (commands, ports, the
gateway's routes), probes, resources and no privileges, secrets referenced and never
committed, each service on its own PostgreSQL database, and Services, autoscalers and
disruption budgets that select real pods."""

from __future__ import annotations

import re

import pytest

from tests.deploy.manifests import (
    OVERLAYS,
    PLATFORM_SECRET,
    PLATFORM_SECRET_KEYS,
    SERVICES,
    config_values,
    container_env,
    containers,
    objects_of,
    pod_template,
    selector_matches,
)

pytestmark = pytest.mark.timeout(900)  # the first run builds kustomize from source


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_processes_follow_the_process_contract(rendered, overlay):
    docs = rendered[overlay]
    deployments = objects_of(docs, "Deployment")
    jobs = objects_of(docs, "Job")
    expected = {"gateway"} | {f"{s}-{mode}" for s in SERVICES for mode in ("api", "worker")}
    assert set(deployments) == expected
    assert set(jobs) == {f"{s}-migrate" for s in SERVICES}

    commands = {}
    for name, workload in {**deployments, **jobs}.items():
        (container,) = containers(workload)
        commands[name] = container.get("command", []) + container.get("args", [])
    assert commands["gateway"] == ["python", "-m", "gateway"]
    for svc in SERVICES:
        for mode in ("api", "worker", "migrate"):
            assert commands[f"{svc}-{mode}"] == ["python", "-m", f"services.{svc}", mode]

    for name, workload in deployments.items():
        (container,) = containers(workload)
        env = container_env(docs, container)
        svc = name.split("-")[0]
        prefix = "GATEWAY" if svc == "gateway" else svc.upper()
        port_var = f"{prefix}_WORKER_PORT" if name.endswith("-worker") else f"{prefix}_PORT"
        (port,) = container["ports"]
        assert env[f"{prefix}_HOST"] == "0.0.0.0", name
        assert int(env[port_var]) == port["containerPort"], name
        default = 8000 if svc == "gateway" else SERVICES[svc] + (100 if name.endswith("-worker") else 0)
        assert port["containerPort"] == default, f"{name} should keep the contract's default port"

    maps = config_values(docs)
    platform = next(data for cm, data in maps.items() if cm.startswith("platform-config"))
    assert platform["KAFKA_BOOTSTRAP_SERVERS"].endswith("-kafka-bootstrap:9092")
    assert platform["PLATFORM_ENV"] in ("development", "production")
    gateway_env = container_env(docs, containers(deployments["gateway"])[0])
    services = objects_of(docs, "Service")
    for svc, port in SERVICES.items():
        assert gateway_env[f"GATEWAY_{svc.upper()}_URL"] == f"http://{svc}-api:{port}"
        assert services[f"{svc}-api"]["spec"]["ports"][0]["port"] == port


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_have_probes_resources_and_no_privileges(rendered, overlay):
    docs = rendered[overlay]
    for workload in [*objects_of(docs, "Deployment").values(), *objects_of(docs, "Job").values()]:
        name = workload["metadata"]["name"]
        pod = pod_template(workload)["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod.get("automountServiceAccountToken") is False, name
        for container in pod["containers"]:
            image = container["image"]
            assert re.search(r":[\w][\w.-]*$", image.rsplit("/", 1)[-1]), f"{name}: untagged image {image}"
            assert not image.endswith(":latest"), name
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{name} {bound}"
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["capabilities"]["drop"] == ["ALL"], name
        if workload["kind"] == "Job":
            continue
        (container,) = pod["containers"]
        port_names = {p["name"] for p in container["ports"]}
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            assert container[probe]["httpGet"]["port"] in port_names, f"{name} {probe}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_never_committed(rendered, overlay):
    docs = rendered[overlay]
    assert objects_of(docs, "Secret") == {}, "no Secret may be committed; reference existing ones"
    for workload in [*objects_of(docs, "Deployment").values(), *objects_of(docs, "Job").values()]:
        name = workload["metadata"]["name"]
        svc = name.split("-")[0]
        (container,) = containers(workload)
        refs = {
            (var["name"], var["valueFrom"]["secretKeyRef"]["name"], var["valueFrom"]["secretKeyRef"]["key"])
            for var in container.get("env", [])
            if "secretKeyRef" in var.get("valueFrom", {})
        }
        assert ("PLATFORM_IDENTITY_SECRET", PLATFORM_SECRET, "identity-secret") in refs, name
        for _, secret, key in refs:
            if secret == PLATFORM_SECRET:
                assert key in PLATFORM_SECRET_KEYS, name
            else:  # the credentials CloudNativePG generates for the service's own cluster
                assert secret == f"{svc}-db-app" and key in ("username", "password"), (name, secret)
        has_bootstrap = any(var == "PLATFORM_BOOTSTRAP_KEY" for var, _, _ in refs)
        assert has_bootstrap == (svc == "network"), f"{name}: bootstrap key is for network only"
        if svc in SERVICES:
            env = container_env(docs, container)
            url = env[f"{svc.upper()}_DATABASE_URL"]
            assert url.startswith("postgresql+asyncpg://"), name
            assert f"@{svc}-db-rw:5432/{svc}" in url, f"{name} must use its own database"
            names = [var["name"] for var in container["env"]]
            for part in re.findall(r"\$\((\w+)\)", url):  # $(VAR) expands only earlier variables
                assert names.index(part) < names.index(f"{svc.upper()}_DATABASE_URL"), name
    for cm in objects_of(docs, "ConfigMap").values():
        for key in cm.get("data", {}):
            assert not re.search(r"SECRET|PASSWORD|TOKEN|BOOTSTRAP_KEY", key), f"{key} in a ConfigMap"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_autoscalers_and_disruption_budgets_select_real_pods(rendered, overlay):
    docs = rendered[overlay]
    deployments = objects_of(docs, "Deployment")
    pod_labels = {name: pod_template(d)["metadata"]["labels"] for name, d in deployments.items()}
    for name, d in deployments.items():
        assert selector_matches(d["spec"]["selector"], pod_labels[name]), name

    for svc in objects_of(docs, "Service").values():
        targets = [n for n, labels in pod_labels.items()
                   if selector_matches({"matchLabels": svc["spec"]["selector"]}, labels)]
        assert len(targets) == 1, svc["metadata"]["name"]
        port_names = {p["name"] for p in containers(deployments[targets[0]])[0]["ports"]}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in port_names

    hpas = objects_of(docs, "HorizontalPodAutoscaler")
    assert set(hpas) == {"gateway"} | {f"{s}-api" for s in SERVICES}
    for name, hpa in hpas.items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        ref = hpa["spec"]["scaleTargetRef"]
        assert ref["kind"] == "Deployment" and ref["name"] in deployments, name
        assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"], name
        # The autoscaler owns the count: a replicas field would reset it on every apply.
        assert "replicas" not in deployments[ref["name"]]["spec"], ref["name"]

    pdbs = objects_of(docs, "PodDisruptionBudget")
    for name, labels in pod_labels.items():
        covering = [p for p in pdbs.values() if selector_matches(p["spec"]["selector"], labels)]
        assert len(covering) == 1, f"{name} needs exactly one PodDisruptionBudget"

    (ingress,) = objects_of(docs, "Ingress").values()
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            assert path["backend"]["service"]["name"] == "gateway"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_postgresql_is_the_only_database(rendered, overlay):
    """Every service process names its CloudNativePG cluster's database; nothing in a
    ConfigMap or a container's environment mentions SQLite."""
    docs = rendered[overlay]
    for name, data in config_values(docs).items():
        assert not [k for k, v in data.items() if "sqlite" in f"{k}={v}".lower()], name
    for workload in [*objects_of(docs, "Deployment").values(), *objects_of(docs, "Job").values()]:
        name = workload["metadata"]["name"]
        (container,) = containers(workload)
        env = container_env(docs, container)
        assert not [k for k, v in env.items() if "sqlite" in f"{k}={v}".lower()], name
        svc = name.split("-")[0]
        urls = {k: v for k, v in env.items() if k.endswith("DATABASE_URL")}
        if svc in SERVICES:
            assert list(urls) == [f"{svc.upper()}_DATABASE_URL"], name
            assert urls[f"{svc.upper()}_DATABASE_URL"].startswith("postgresql+asyncpg://"), name
        else:
            assert urls == {}, f"{name} needs no database"
