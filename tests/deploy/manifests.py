"""What the deployment tests share: the platform's contract (services, ports, topics,
overlays), label-selector semantics and readers for rendered Kubernetes objects, compose
environments, Docker's .dockerignore rules and Dockerfile instructions."""

from __future__ import annotations

import posixpath
import re
import socket
from pathlib import Path

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

# --------------------------------------------------------------------------- rendered Kubernetes objects


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
            env[var["name"]] = f"<from {next(iter(var['valueFrom']))}>"
    return env


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

# --------------------------------------------------------------------------- docker compose

COMPOSE_FILE = REPO / "deploy" / "docker-compose.yml"
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$|DATABASE_URL")


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
