"""Fixtures the deployment tests share: the rendered overlays (with the pinned kustomize
and the bundled Kubernetes schemas) and the build context's ignore rules."""

from __future__ import annotations

import os
import subprocess
import types

import pytest

pytest.register_assert_rewrite("tests.deploy.manifests")

import yaml  # noqa: E402

from tests.deploy.manifests import DOCKERIGNORE, OVERLAYS, REPO, parse_dockerignore  # noqa: E402


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


@pytest.fixture(scope="session")
def ignore_rules():
    return parse_dockerignore(DOCKERIGNORE.read_text())
