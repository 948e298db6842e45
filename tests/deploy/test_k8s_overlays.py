"""Kubernetes: both kustomize overlays render with the pinned kustomize that k8s/tools.sh
installs, every core object validates against the bundled Kubernetes JSON schemas of
package kubernetes-validate (strict: unknown fields fail), everything lives in the
overlay's namespace, and prod scales beyond dev."""

from __future__ import annotations

import copy
from collections import Counter

import pytest

from tests.deploy.manifests import (
    CLUSTER_SCOPED,
    CORE_API_VERSIONS,
    CUSTOM_RESOURCES,
    K8S_VERSIONS,
    OVERLAYS,
    SERVICES,
    containers,
    objects_of,
)

pytestmark = pytest.mark.timeout(900)  # the first run builds kustomize from source


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
