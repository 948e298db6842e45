"""The image (Dockerfile): multi-stage, slim and non-root, copies the runtime packages
the process contract needs, and its health-check script finds the right port for every
process and reports its health."""

from __future__ import annotations

import gc
import http.server
import os
import re
import threading
import tomllib
import types

import pytest
import yaml

from tests.deploy.manifests import DOCKERFILE, REPO, dockerfile_instructions, excluded, free_port


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
            gc.collect()
        monkeypatch.setenv("CRM_PORT", str(free_port()))  # nothing listens there
        monkeypatch.setattr("sys.argv", ["healthcheck"])
        assert healthcheck_module.main() == 1
        monkeypatch.setattr(healthcheck_module, "command", lambda: ["python", "-m", "services.crm", "migrate"])
        assert healthcheck_module.main() == 0
    finally:
        server.shutdown()
        server.server_close()
