"""Deployment artefacts, checked offline.

- Kubernetes: both kustomize overlays render with the pinned kustomize that
  k8s/tools.sh installs, and every core object validates against the bundled
  Kubernetes JSON schemas of package kubernetes-validate (strict: unknown fields
  fail). Strimzi and CloudNativePG custom resources have no core schema; they
  get a minimal check of apiVersion, kind and the fields their CRDs require,
  plus the platform's own expectations (topics, partitions, one database per
  service).
- docker compose: the file parses, and its services, health checks, depends_on
  conditions, env files, commands and secrets hang together.
- Image: the Dockerfile has the required shape, its health-check script finds
  the right port for every process, and the build context (.dockerignore,
  matched with Docker's rules) leaves out caches, databases and virtual
  environments.
- The PostgreSQL init script really creates one isolated database per service
  (run against a throwaway local server when PostgreSQL is installed).
"""

from __future__ import annotations

import copy
import http.server
import os
import posixpath
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import tomllib
import types
from collections import Counter
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.timeout(900)  # the first run builds kustomize from source

REPO = Path(__file__).resolve().parents[2]
SERVICES = {"reception": 8101, "workshop": 8102, "crm": 8103, "network": 8104}
OVERLAYS = ("dev", "prod")
TOPICS = {f"{svc}.events{suffix}" for svc in SERVICES for suffix in ("", ".dlq")}

# Oldest Kubernetes the manifests target (Strimzi 1.x needs 1.30+) and the newest
# schema bundled with kubernetes-validate 1.37.
K8S_VERSIONS = ("1.30", "1.37")

CORE_API_VERSIONS = {
    "v1",
    "apps/v1",
    "batch/v1",
    "autoscaling/v2",
    "policy/v1",
    "networking.k8s.io/v1",
}
CUSTOM_RESOURCES = {
    ("kafka.strimzi.io/v1", "Kafka"),
    ("kafka.strimzi.io/v1", "KafkaNodePool"),
    ("kafka.strimzi.io/v1", "KafkaTopic"),
    ("postgresql.cnpg.io/v1", "Cluster"),
}
CLUSTER_SCOPED = {"Namespace"}
PLATFORM_SECRET = "aftersales-platform-secrets"
PLATFORM_SECRET_KEYS = {"identity-secret", "bootstrap-key"}


# --------------------------------------------------------------------------- helpers


def objects_of(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def selector_matches(selector: dict, labels: dict) -> bool:
    """Kubernetes label-selector semantics (matchLabels AND matchExpressions)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def pod_template(workload):
    return workload["spec"]["template"]


def containers(workload):
    return pod_template(workload)["spec"]["containers"]


def config_values(docs) -> dict:
    """Every key of every ConfigMap, by ConfigMap name."""
    return {name: cm.get("data", {}) for name, cm in objects_of(docs, "ConfigMap").items()}


def container_env(docs, container) -> dict:
    """The environment a container sees from its ConfigMaps and plain values."""
    maps = config_values(docs)
    env = {}
    for source in container.get("envFrom", []):
        env.update(maps[source["configMapRef"]["name"]])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        else:
            env[var["name"]] = "<from %s>" % next(iter(var["valueFrom"]))
    return env


# --------------------------------------------------------------------------- kustomize


@pytest.fixture(scope="session")
def kv():
    """kubernetes-validate: Kubernetes' JSON schemas, bundled, used offline."""
    try:
        import kubernetes_validate
        from kubernetes_validate import utils
    except ImportError:
        pytest.fail("kubernetes-validate is missing: it is a dev dependency (pip install 'kubernetes-validate>=1.37')")
    return types.SimpleNamespace(validate=kubernetes_validate.validate, utils=utils)


@pytest.fixture(scope="session")
def kustomize() -> str:
    """The pinned kustomize, installed by k8s/tools.sh (user cache) if missing."""
    proc = subprocess.run(
        ["bash", str(REPO / "k8s" / "tools.sh"), "kustomize"],
        capture_output=True,
        text=True,
        timeout=880,
    )
    if proc.returncode != 0:
        pytest.fail(f"k8s/tools.sh could not provide kustomize:\n{proc.stderr}")
    path = proc.stdout.strip().splitlines()[-1]
    assert os.access(path, os.X_OK), path
    return path


@pytest.fixture(scope="session")
def rendered(kustomize) -> dict[str, list[dict]]:
    out = {}
    for overlay in OVERLAYS:
        proc = subprocess.run(
            [kustomize, "build", str(REPO / "k8s" / "overlays" / overlay)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, f"kustomize build {overlay} failed:\n{proc.stderr}"
        out[overlay] = [d for d in yaml.safe_load_all(proc.stdout) if d]
    return out


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_with_unique_complete_objects(rendered, overlay):
    docs = rendered[overlay]
    assert len(docs) > 50
    for d in docs:
        assert d.get("apiVersion") and d.get("kind") and d.get("metadata", {}).get("name"), d
    keys = Counter((d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs)
    assert [k for k, n in keys.items() if n > 1] == []
    kinds = {d["kind"] for d in docs}
    for kind in (
        "Namespace", "Deployment", "Service", "Ingress", "ConfigMap", "HorizontalPodAutoscaler",
        "PodDisruptionBudget", "Job", "NetworkPolicy", "Kafka", "KafkaNodePool", "KafkaTopic", "Cluster",
    ):
        assert kind in kinds, f"{overlay} renders no {kind}"


@pytest.mark.parametrize("k8s_version", K8S_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_core_objects_validate_against_kubernetes_schemas(kv, rendered, overlay, k8s_version):
    checked = 0
    for d in rendered[overlay]:
        key = (d["apiVersion"], d["kind"])
        if key in CUSTOM_RESOURCES:
            continue  # no core schema: test_custom_resources_* below
        assert d["apiVersion"] in CORE_API_VERSIONS, f"unexpected API {key} for {d['metadata']['name']}"
        try:
            kv.validate(d, k8s_version, strict=True)
        except kv.utils.ValidationError as exc:
            pytest.fail(f"{overlay}: {d['kind']}/{d['metadata']['name']} invalid for Kubernetes "
                        f"{k8s_version} at {'/'.join(map(str, exc.path))}: {exc.message}")
        except kv.utils.SchemaNotFoundError as exc:
            pytest.fail(exc.message)
        checked += 1
    assert checked > 40


def test_schema_validation_catches_mistakes(kv, rendered):
    """The validator really checks: a misspelt field and a wrong type both fail."""
    deployment = next(d for d in rendered["prod"] if d["kind"] == "Deployment")
    typo = copy.deepcopy(deployment)
    containers(typo)[0]["readinessProbe"]["httpGet"]["pth"] = "/readyz"
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "three"
    for broken in (typo, wrong_type):
        with pytest.raises(kv.utils.ValidationError):
            kv.validate(broken, K8S_VERSIONS[0], strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_everything_lives_in_the_overlay_namespace(rendered, overlay):
    docs = rendered[overlay]
    namespaces = objects_of(docs, "Namespace")
    assert len(namespaces) == 1
    (namespace,) = namespaces
    for d in docs:
        if d["kind"] in CLUSTER_SCOPED:
            continue
        assert d["metadata"].get("namespace") == namespace, f"{d['kind']}/{d['metadata']['name']}"


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
        for var, secret, key in refs:
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


def allowed_peers(docs, pod_labels: dict) -> list[tuple[dict, list]]:
    """(peer, ports) pairs the NetworkPolicies selecting these pod labels allow in."""
    selecting = [p for p in objects_of(docs, "NetworkPolicy").values()
                 if selector_matches(p["spec"]["podSelector"], pod_labels)]
    assert selecting, f"no NetworkPolicy selects {pod_labels}"
    peers = []
    for policy in selecting:
        assert "Ingress" in policy["spec"]["policyTypes"]
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", [{}]):  # no "from": every source
                peers.append((peer, [p["port"] for p in rule.get("ports", [])]))
    return peers


MONITORING = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_let_only_the_gateway_reach_service_apis(rendered, overlay):
    docs = rendered[overlay]
    deployments = objects_of(docs, "Deployment")
    gateway_labels = pod_template(deployments["gateway"])["metadata"]["labels"]
    for name, workload in deployments.items():
        labels = pod_template(workload)["metadata"]["labels"]
        peers = allowed_peers(docs, labels)
        if name == "gateway":
            assert ({}, ["http"]) in peers  # the public entry
            continue
        for peer, ports in peers:
            assert peer, f"{name} is open to every source"
            assert "ipBlock" not in peer, name
            if peer == MONITORING:  # Prometheus scraping /metrics
                assert ports == (["http"] if name.endswith("-api") else ["metrics"]), name
                continue
            assert name.endswith("-api"), f"{name} (a worker) accepts {peer}"
            assert set(peer) == {"podSelector"}, f"{name}: {peer}"  # same namespace only
            assert selector_matches(peer["podSelector"], gateway_labels), name
            assert not selector_matches(peer["podSelector"], pod_template(deployments["crm-worker"])["metadata"]["labels"])
            assert ports == ["http"], name
        if name.endswith("-api"):
            assert any(selector_matches(p.get("podSelector", {"matchLabels": {"x": "never"}}), gateway_labels)
                       for p, _ in peers), name
    for job in objects_of(docs, "Job").values():
        assert allowed_peers(docs, pod_template(job)["metadata"]["labels"]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_database_admits_only_its_own_service(rendered, overlay):
    docs = rendered[overlay]
    deployments = objects_of(docs, "Deployment")
    for svc in SERVICES:
        peers = allowed_peers(docs, {"cnpg.io/cluster": f"{svc}-db"})
        app_peers = [peer for peer, ports in peers if 5432 in ports and set(peer) == {"podSelector"}
                     and "cnpg.io/cluster" not in peer["podSelector"].get("matchLabels", {})]
        assert app_peers, svc
        for name, workload in deployments.items():
            labels = pod_template(workload)["metadata"]["labels"]
            admitted = any(selector_matches(peer["podSelector"], labels) for peer in app_peers)
            assert admitted == name.startswith(f"{svc}-"), f"{name} vs {svc}-db"


# --------------------------------------------------------------------------- custom resources


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_strimzi_kafka(rendered, overlay):
    """Minimal structural check (no CRD schema offline): the fields Strimzi's v1 CRDs require."""
    docs = rendered[overlay]
    for d in docs:
        if d["apiVersion"].startswith(("kafka.strimzi.io/", "postgresql.cnpg.io/")):
            assert (d["apiVersion"], d["kind"]) in CUSTOM_RESOURCES, (d["apiVersion"], d["kind"])
    (kafka,) = objects_of(docs, "Kafka").values()
    cluster = kafka["metadata"]["name"]
    spec = kafka["spec"]["kafka"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(spec["version"]))
    for listener in spec["listeners"]:
        assert {"name", "port", "type", "tls"} <= set(listener)
    assert any(l["port"] == 9092 and l["tls"] is False and l["type"] == "internal" for l in spec["listeners"])
    assert spec["config"]["auto.create.topics.enable"] is False
    assert "topicOperator" in kafka["spec"]["entityOperator"]

    pools = objects_of(docs, "KafkaNodePool")
    assert pools
    brokers = controllers = 0
    for pool in pools.values():
        assert pool["metadata"]["labels"]["strimzi.io/cluster"] == cluster
        assert {"replicas", "storage", "roles"} <= set(pool["spec"])
        assert set(pool["spec"]["roles"]) <= {"controller", "broker"}
        brokers += pool["spec"]["replicas"] if "broker" in pool["spec"]["roles"] else 0
        controllers += pool["spec"]["replicas"] if "controller" in pool["spec"]["roles"] else 0
    assert brokers >= 1 and controllers % 2 == 1, "KRaft needs brokers and an odd controller quorum"

    topics = objects_of(docs, "KafkaTopic")
    assert {t["spec"].get("topicName", name) for name, t in topics.items()} == TOPICS
    platform = next(data for cm, data in config_values(docs).items() if cm.startswith("platform-config"))
    rf = spec["config"]["default.replication.factor"]
    assert int(platform["KAFKA_REPLICATION_FACTOR"]) == rf
    for topic in topics.values():
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == cluster
        t = topic["spec"]
        assert t["partitions"] == int(platform["KAFKA_TOPIC_PARTITIONS"]), topic["metadata"]["name"]
        assert 1 <= t["replicas"] <= brokers and t["replicas"] == rf
        min_isr = t["config"]["min.insync.replicas"]
        assert min_isr == 1 if t["replicas"] == 1 else 1 < min_isr < t["replicas"]
    assert spec["config"]["offsets.topic.replication.factor"] == rf


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_cloudnativepg_one_cluster_per_service(rendered, overlay):
    """Minimal structural check of the CloudNativePG Clusters (no CRD schema offline)."""
    clusters = objects_of(rendered[overlay], "Cluster")
    assert set(clusters) == {f"{s}-db" for s in SERVICES}
    for svc in SERVICES:
        spec = clusters[f"{svc}-db"]["spec"]
        assert isinstance(spec["instances"], int) and spec["instances"] >= 1
        assert spec["bootstrap"]["initdb"] == {"database": svc, "owner": svc}
        assert re.fullmatch(r"\d+(Gi|Ti)", spec["storage"]["size"])
        assert re.search(r"/postgresql:16(\.\d+)?-", spec["imageName"]), "PostgreSQL 16 everywhere"


def test_prod_overlay_scales_beyond_dev(rendered):
    dev, prod = rendered["dev"], rendered["prod"]

    def limits(docs, name):
        res = containers(objects_of(docs, "Deployment")[name])[0]["resources"]["limits"]
        return res["cpu"], res["memory"]

    def quantity(value: str) -> float:
        units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
        for unit, factor in units.items():
            if value.endswith(unit):
                return float(value[: -len(unit)]) * factor
        return float(value)

    for name in objects_of(dev, "Deployment"):
        (dev_cpu, dev_mem), (prod_cpu, prod_mem) = limits(dev, name), limits(prod, name)
        assert quantity(prod_cpu) > quantity(dev_cpu) and quantity(prod_mem) > quantity(dev_mem), name
    for name, hpa in objects_of(prod, "HorizontalPodAutoscaler").items():
        dev_hpa = objects_of(dev, "HorizontalPodAutoscaler")[name]["spec"]
        assert hpa["spec"]["minReplicas"] > dev_hpa["minReplicas"], name
        assert hpa["spec"]["maxReplicas"] > dev_hpa["maxReplicas"], name
    for svc in SERVICES:
        prod_workers = objects_of(prod, "Deployment")[f"{svc}-worker"]["spec"]["replicas"]
        assert prod_workers > objects_of(dev, "Deployment")[f"{svc}-worker"]["spec"]["replicas"]
    for name, topic in objects_of(prod, "KafkaTopic").items():
        assert topic["spec"]["partitions"] > objects_of(dev, "KafkaTopic")[name]["spec"]["partitions"]
        assert topic["spec"]["replicas"] == 3
        # Consumer replicas beyond the partition count would idle (docs/scaling.md).
        svc = name.split("-")[0]
        assert objects_of(prod, "Deployment")[f"{svc}-worker"]["spec"]["replicas"] <= topic["spec"]["partitions"]
    assert sum(p["spec"]["replicas"] for p in objects_of(prod, "KafkaNodePool").values()) >= 3
    for name, cluster in objects_of(prod, "Cluster").items():
        assert cluster["spec"]["instances"] == 3 > objects_of(dev, "Cluster")[name]["spec"]["instances"]


# --------------------------------------------------------------------------- docker compose

COMPOSE_FILE = REPO / "deploy" / "docker-compose.yml"
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$|DATABASE_URL")


@pytest.fixture(scope="module")
def compose() -> dict:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


def read_env_file(path: Path) -> dict:
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
        env[key.strip()] = value.strip()
    return env


def service_env(svc: dict) -> dict:
    env = {}
    for name in svc.get("env_file", []):
        env.update(read_env_file(COMPOSE_FILE.parent / name))
    environment = svc.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    env.update(environment)
    return env


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


# --------------------------------------------------------------------------- postgres init


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pg_workdir():
    # Outside pytest's private tmp tree: the server may run as another user.
    path = Path(tempfile.mkdtemp(prefix="aftersales-pginit-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_postgres_init_script_creates_one_isolated_database_per_service(pg_workdir):
    tools = {t: shutil.which(t) for t in ("initdb", "pg_ctl", "psql")}
    if not all(tools.values()):
        pytest.skip(f"PostgreSQL server tools not installed: {tools}")
    as_user: list[str] = []
    workdir = pg_workdir
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser")
        try:
            shutil.chown(workdir, user="postgres")
        except (LookupError, PermissionError):
            pytest.skip("running as root and there is no postgres user")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = workdir / "data", free_port()

    def run(*cmd, env=None, check=True):
        return subprocess.run([*as_user, *cmd], capture_output=True, text=True, env=env, check=check, timeout=120)

    run(tools["initdb"], "-D", str(data), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256")
    run(tools["pg_ctl"], "-D", str(data), "-l", str(workdir / "log"), "-w", "start",
        "-o", f"-k {workdir} -c listen_addresses=127.0.0.1 -p {port}")
    try:
        env = {**os.environ, "PGHOST": str(workdir), "PGPORT": str(port), "POSTGRES_USER": "postgres",
               "POSTGRES_DB": "postgres", "POSTGRES_SERVICE_PASSWORD": "pa'ss word",
               "SERVICE_DATABASES": " ".join(SERVICES)}
        script = str(REPO / "deploy" / "postgres-init" / "10-service-databases.sh")
        for _ in range(2):  # the second run must change nothing and not fail
            proc = run("bash", script, env=env, check=False)
            assert proc.returncode == 0, proc.stderr

        def psql(user, db, sql):
            return subprocess.run(
                [tools["psql"], "-h", "127.0.0.1", "-p", str(port), "-U", user, "-d", db,
                 "-v", "ON_ERROR_STOP=1", "-Atc", sql],
                capture_output=True, text=True, timeout=60,
                env={**os.environ, "PGPASSWORD": "pa'ss word"},
            )

        for svc in SERVICES:
            own = psql(svc, svc, "CREATE TABLE probe (id int); SELECT current_user, current_database()")
            assert own.returncode == 0, own.stderr
            assert own.stdout.split()[-1] == f"{svc}|{svc}"
            other = next(s for s in SERVICES if s != svc)
            denied = psql(svc, other, "SELECT 1")
            assert denied.returncode != 0 and "permission denied" in denied.stderr
        bad = run("bash", script, env={**env, "SERVICE_DATABASES": "Robert'); DROP"}, check=False)
        assert bad.returncode != 0
    finally:
        run(tools["pg_ctl"], "-D", str(data), "-m", "immediate", "stop", check=False)


# --------------------------------------------------------------------------- image and build context

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"


def docker_pattern(pattern: str) -> re.Pattern:
    """Compile one .dockerignore pattern the way Docker does (Go filepath.Match
    plus `**`): `*` and `?` never cross a `/`, `**` spans any number of
    directories, and patterns are anchored at the context root."""
    out, i = "^", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if i < len(pattern) and pattern[i] == "/":
                i += 1
            out += ".*" if i == len(pattern) else "(?:.*/)?"
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[" and "]" in pattern[i + 1:]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1:end]
            negate = body[:1] in ("^", "!")
            body = body[1:] if negate else body
            out += "[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]"
            i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + "$")


def parse_dockerignore(text: str) -> list[tuple[bool, re.Pattern]]:
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = posixpath.normpath(line[1:].strip() if negate else line).lstrip("/")
        rules.append((negate, docker_pattern(pattern)))
    return rules


def excluded(path: str, rules) -> bool:
    """Docker's rule: a pattern matches a path if it matches the path or any of
    its parent directories; the last matching pattern decides, and `!` patterns
    put a path back."""
    path = posixpath.normpath(path)
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for negate, rx in rules:
        if any(rx.match(c) for c in candidates):
            result = not negate
    return result


def test_dockerignore_matcher_follows_dockers_documented_rules():
    def ex(patterns, path):
        return excluded(path, parse_dockerignore("\n".join(patterns)))

    assert ex(["*/temp*"], "somedir/temporary.txt") and ex(["*/temp*"], "somedir/temp")
    assert not ex(["*/temp*"], "temp.txt") and not ex(["*/temp*"], "a/b/temporary.txt")
    assert ex(["*/*/temp*"], "somedir/subdir/temporary.txt")
    assert ex(["temp?"], "tempa") and not ex(["temp?"], "tempab") and not ex(["temp?"], "x/tempa")
    assert ex(["**/*.go"], "main.go") and ex(["**/*.go"], "a/b/c.go")
    # A bare glob is anchored at the root, unlike .gitignore.
    assert ex(["*.pyc"], "x.pyc") and not ex(["*.pyc"], "pkg/x.pyc")
    # A matched directory takes its whole content with it; a leading / changes nothing.
    assert ex(["var"], "var/a/b.db") and ex(["/var/"], "var/a/b.db") and not ex(["var"], "pkg/var")
    assert ex(["bench/results"], "bench/results/run.json") and not ex(["bench/results"], "bench/run.py")
    # Exceptions: the last matching line wins.
    assert not ex(["*.md", "!README*.md"], "README.md") and ex(["*.md", "!README*.md"], "CHANGES.md")
    assert ex(["*.md", "!README*.md", "README-secret.md"], "README-secret.md")
    assert not ex(["*.md", "README-secret.md", "!README*.md"], "README-secret.md")
    assert not ex(["*", "!services"], "services/crm/app.py") and ex(["*", "!services"], "tests/x.py")


@pytest.fixture(scope="module")
def ignore_rules():
    return parse_dockerignore(DOCKERIGNORE.read_text())


LEFT_OUT = [
    ".git/HEAD", ".git/objects/ab/cdef",
    ".venv/bin/python", "services/crm/.venv/lib/x.py",
    ".cache/bin/kustomize", ".cache/go-build/00/x",
    "var/reception.db", "var/logs/gateway.log",
    "__pycache__/x.cpython-311.pyc", "services/reception/__pycache__/app.cpython-311.pyc",
    "services/common/outbox.pyc", "gateway/app.pyo",
    ".pytest_cache/v/cache/nodeids", "tests/.pytest_cache/README.md",
    "artifacts/report.json", "bench/results/run-1.json",
    "node_modules/x/index.js", "gateway/static/node_modules/chart/index.js",
    "reception.db", "services/crm/local.db", "data.sqlite", "services/network/kpi.sqlite3",
    "aftersales_platform.egg-info/PKG-INFO", ".env", "deploy/env/common.env",
]
KEPT = [
    "pyproject.toml", "Dockerfile",
    "services/__init__.py", "services/reception/__init__.py", "services/reception/__main__.py",
    "services/common/outbox.py", "services/reception/migrations/versions/0001_initial.py",
    "services/reception/alembic.ini", "gateway/__init__.py", "gateway/static/dashboard.html",
    "deploy/__init__.py", "deploy/kafka/__init__.py", "deploy/kafka/pom.xml",
    "data/stores.json", "data/parts.json",
]


@pytest.mark.parametrize("path", LEFT_OUT)
def test_build_context_leaves_out_caches_databases_and_environments(ignore_rules, path):
    assert excluded(path, ignore_rules), f"{path} would be sent to the Docker daemon"


@pytest.mark.parametrize("path", KEPT)
def test_build_context_keeps_what_the_image_needs(ignore_rules, path):
    assert not excluded(path, ignore_rules), f"{path} is needed in the image"


def gitignore_samples() -> list[str]:
    """Representative paths for each .gitignore pattern, at the root and, for
    unanchored patterns (gitignore matches those at any depth), nested."""
    samples = []
    for line in (REPO / ".gitignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "!")) or "[" in line:
            continue
        dir_only = line.endswith("/")
        core = line.strip("/")
        name = core.replace("**", "x").replace("*", "sample").replace("?", "x")
        paths = [name] if ("/" in core or line.startswith("/")) else [name, f"services/crm/{name}"]
        samples += [f"{p}/file" if dir_only else p for p in paths]
    return samples


def test_build_context_leaves_out_everything_git_ignores(ignore_rules):
    samples = gitignore_samples()
    assert samples
    leaking = [p for p in samples if not excluded(p, ignore_rules)]
    assert leaking == [], f"git ignores these, but the image build context would include them: {leaking}"


def dockerfile_instructions(text: str) -> list[tuple[str, str, list[str]]]:
    """(INSTRUCTION, arguments, heredoc bodies); continuation lines joined."""
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        while line.endswith("\\") and i < len(lines):
            nxt = lines[i].strip()
            i += 1
            if nxt.startswith("#"):
                continue
            line = line[:-1].rstrip() + " " + nxt
        bodies = []
        for delimiter in re.findall(r"<<-?['\"]?(\w+)['\"]?", line):
            body = []
            while i < len(lines) and lines[i].strip() != delimiter:
                body.append(lines[i])
                i += 1
            i += 1
            bodies.append("\n".join(body))
        instruction, _, args = line.partition(" ")
        out.append((instruction.upper(), args.strip(), bodies))
    return out


@pytest.fixture(scope="module")
def stages():
    result, current = [], None
    for instruction, args, bodies in dockerfile_instructions(DOCKERFILE.read_text()):
        if instruction == "FROM":
            current = {"from": args, "steps": []}
            result.append(current)
        elif current is not None:
            current["steps"].append((instruction, args, bodies))
    return result


def test_dockerfile_is_multi_stage_slim_and_non_root(stages):
    text = DOCKERFILE.read_text()
    assert len(stages) >= 2
    base = re.search(r"ARG PYTHON_IMAGE=(\S+)", text).group(1)
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?(@sha256:[0-9a-f]{64})?", base)
    for stage in stages:
        assert stage["from"].split()[0] in ("${PYTHON_IMAGE}", base), stage["from"]
    builder, final = stages[0], stages[-1]
    assert any(i == "RUN" and "pip wheel" in a for i, a, _ in builder["steps"]), "wheels are built first"
    final_steps = final["steps"]
    assert any(i == "COPY" and a.startswith("--from=") for i, a, _ in final_steps)
    for instruction, args, _ in final_steps:
        if instruction == "RUN":
            assert not re.search(r"apt-get install|build-essential|\bgcc\b|pip (wheel|install)", args), args
    users = [a for i, a, _ in final_steps if i == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root"), "the image must run as non-root"
    assert ("WORKDIR", "/app", []) in final_steps
    healthchecks = [a for i, a, _ in final_steps if i == "HEALTHCHECK"]
    assert healthchecks and "healthcheck" in healthchecks[-1] and "--interval" in healthchecks[-1]
    cmd = [a for i, a, _ in final_steps if i == "CMD"][-1]
    assert yaml.safe_load(cmd) == ["python", "-m", "gateway"]
    assert not [a for i, a, _ in final_steps if i == "ENTRYPOINT"], "the command alone picks the process"


def test_dockerfile_copies_the_runtime_packages(stages, ignore_rules):
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    top_level = {p.rstrip("*") for p in packages}
    for stage in stages:
        sources = set()
        for instruction, args, _ in stage["steps"]:
            if instruction != "COPY" or args.startswith("--from") or "<<" in args:
                continue
            words = [w for w in args.split() if not w.startswith("--")]
            sources.update(w.rstrip("/") for w in words[:-1])
        for source in sources:
            assert not excluded(source, ignore_rules), f"COPY {source} but .dockerignore leaves it out"
        # The runtime packages of the process contract, and nothing pyproject.toml does not
        # package, except the reference data the services read from <app>/data.
        assert {"pyproject.toml", "services", "gateway", "deploy"} <= sources, stage["from"]
        assert sources - {"pyproject.toml", "data"} <= top_level, stage["from"]
    final_sources = {a.split()[0] for i, a, _ in stages[-1]["steps"] if i == "COPY" and not a.startswith("--")}
    assert "data" in final_sources, "the services load data/*.json at run time"


@pytest.fixture(scope="module")
def healthcheck_module(stages):
    bodies = [b for stage in stages for i, a, bs in stage["steps"] if i == "COPY" and "healthcheck" in a for b in bs]
    assert len(bodies) == 1
    module = types.ModuleType("image_healthcheck")
    exec(compile(bodies[0], "healthcheck", "exec"), module.__dict__)
    return module


@pytest.mark.parametrize(
    "argv, env, expected",
    [
        (["python", "-m", "gateway"], {}, 8000),
        (["/sbin/docker-init", "--", "python", "-m", "gateway"], {"GATEWAY_PORT": "9000"}, 9000),
        (["python", "-m", "services.reception", "api"], {}, 8101),
        (["python", "-m", "services.workshop", "worker"], {}, 8202),
        (["python", "-m", "services.crm", "worker"], {"CRM_PORT": "9103"}, 9203),
        (["python", "-m", "services.network", "worker"], {"NETWORK_WORKER_PORT": "9999"}, 9999),
        (["python", "-m", "services.crm", "all"], {}, 8103),
        (["python", "-m", "services.crm"], {}, 8103),
        (["python", "-m", "services.network", "migrate"], {}, None),
    ],
)
def test_image_healthcheck_finds_each_process_port(healthcheck_module, monkeypatch, argv, env, expected):
    for var in [v for v in os.environ if v.endswith(("_PORT", "_HOST"))]:
        monkeypatch.delenv(var)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    where = healthcheck_module.target(argv)
    assert (where[1] if where else None) == expected


def test_image_healthcheck_reports_the_processes_health(healthcheck_module, monkeypatch):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/healthz" else 503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(healthcheck_module, "command", lambda: ["python", "-m", "services.crm", "api"])
        monkeypatch.setenv("CRM_PORT", str(server.server_address[1]))
        monkeypatch.setenv("CRM_HOST", "0.0.0.0")
        for path, status in (("/healthz", 0), ("/readyz", 1)):
            monkeypatch.setattr("sys.argv", ["healthcheck", path])
            assert healthcheck_module.main() == status, path
        monkeypatch.setenv("CRM_PORT", str(free_port()))  # nothing listens there
        monkeypatch.setattr("sys.argv", ["healthcheck"])
        assert healthcheck_module.main() == 1
        monkeypatch.setattr(healthcheck_module, "command", lambda: ["python", "-m", "services.crm", "migrate"])
        assert healthcheck_module.main() == 0
    finally:
        server.shutdown()
