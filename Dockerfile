# syntax=docker/dockerfile:1
#
# One image for every process of the platform. The command picks the process:
#
#   docker run IMAGE                                        # gateway (default)
#   docker run IMAGE python -m services.reception api       # a service's HTTP API
#   docker run IMAGE python -m services.reception worker    # outbox relay + consumers + jobs
#   docker run IMAGE python -m services.reception migrate   # Alembic migrations, then exit
#   docker run IMAGE python -m services.reception all       # API and worker in one process
#
# Build from the repository root:  docker build -t aftersales-platform .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------
# Stage 1: build wheels for the project and all of its dependencies.
# Compilers live only here, for any dependency that ships no wheel.
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Dependencies first, so this layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep=chr(10))" > requirements.txt \
    && pip wheel --wheel-dir /wheels -r requirements.txt

# Then the project itself.
COPY services ./services
COPY gateway ./gateway
COPY deploy ./deploy
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /wheels aftersales-platform

# ---------------------------------------------------------------------------
# Stage 2: runtime. No compilers, no pip cache, no wheels; runs as a
# non-root user. The source tree is also kept at /app (read-only for the
# app user) and the processes run from there, so what is not a Python module
# (migrations, the gateway's pages, the reference data in data/, which the
# services find next to the code) is where they look for it.
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    GATEWAY_HOST=0.0.0.0 \
    RECEPTION_HOST=0.0.0.0 \
    WORKSHOP_HOST=0.0.0.0 \
    CRM_HOST=0.0.0.0 \
    NETWORK_HOST=0.0.0.0

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin app

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
COPY pyproject.toml ./
COPY services ./services
COPY gateway ./gateway
COPY deploy ./deploy
COPY data ./data
# Bytecode compiled now, since the processes cannot write it at run time
# (PYTHONDONTWRITEBYTECODE, read-only root filesystem on Kubernetes).
# var/ is the only directory the app may write to.
RUN python -m compileall -q -j 0 services gateway deploy \
    && mkdir -p /app/var && chown app:app /app/var

# Health check for whichever process this container runs: it reads the
# command of PID 1, works out that process's port from the same variables
# the process reads, and asks it for /healthz (or the path given).
COPY <<'EOF' /usr/local/bin/healthcheck
#!/usr/bin/env python3
import os
import sys
import urllib.error
import urllib.request

API_PORTS = {"reception": 8101, "workshop": 8102, "crm": 8103, "network": 8104}


def command():
    try:
        with open("/proc/1/cmdline", "rb") as f:
            return [a.decode() for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def target(argv):
    """(host, port) of the process, or None for one-shot commands."""
    for i, arg in enumerate(argv[:-1]):
        if arg != "-m":
            continue
        module = argv[i + 1]
        if module == "gateway":
            return os.environ.get("GATEWAY_HOST", ""), int(os.environ.get("GATEWAY_PORT", "8000"))
        if module.startswith("services."):
            svc = module.split(".", 1)[1]
            mode = argv[i + 2] if i + 2 < len(argv) else "all"
            if mode == "migrate":
                return None
            prefix = svc.upper()
            port = int(os.environ.get(f"{prefix}_PORT", API_PORTS.get(svc, 0)))
            if mode == "worker":
                port = int(os.environ.get(f"{prefix}_WORKER_PORT", port + 100))
            return os.environ.get(f"{prefix}_HOST", ""), port
    return os.environ.get("GATEWAY_HOST", ""), int(os.environ.get("GATEWAY_PORT", "8000"))


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "/healthz"
    where = target(command())
    if where is None:
        return 0
    host, port = where
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=4) as resp:
            return 0 if resp.status == 200 else 1
    except urllib.error.HTTPError as exc:  # an answer, but not a healthy one
        exc.close()
        print(f"healthcheck {host}:{port}{path}: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # no answer at all means unhealthy too
        print(f"healthcheck {host}:{port}{path}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
EOF
RUN chmod 0755 /usr/local/bin/healthcheck

USER 10001:10001

# gateway; service APIs; service workers (health and metrics)
EXPOSE 8000 8101 8102 8103 8104 8201 8202 8203 8204

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["healthcheck", "/healthz"]

CMD ["python", "-m", "gateway"]
