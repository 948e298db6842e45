"""Kubernetes NetworkPolicies of both overlays: only the gateway reaches the service
APIs, workers accept nothing but monitoring, and each database admits only its own
service."""

from __future__ import annotations

import pytest

from tests.deploy.manifests import (
    MONITORING,
    OVERLAYS,
    SERVICES,
    allowed_peers,
    objects_of,
    pod_template,
    selector_matches,
)

pytestmark = pytest.mark.timeout(900)  # the first run builds kustomize from source


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
            worker_labels = pod_template(deployments["crm-worker"])["metadata"]["labels"]
            assert not selector_matches(peer["podSelector"], worker_labels)
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
