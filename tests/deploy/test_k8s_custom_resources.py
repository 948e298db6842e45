"""Strimzi and CloudNativePG custom resources of both overlays. They have no core schema
offline; they get a minimal check of apiVersion, kind and the fields their CRDs require,
plus the platform's own expectations (topics, partitions, one database per service)."""

from __future__ import annotations

import re

import pytest

from tests.deploy.manifests import CUSTOM_RESOURCES, OVERLAYS, SERVICES, TOPICS, config_values, objects_of

pytestmark = pytest.mark.timeout(900)  # the first run builds kustomize from source


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
    assert any(listener["port"] == 9092 and listener["tls"] is False and listener["type"] == "internal"
               for listener in spec["listeners"])
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
