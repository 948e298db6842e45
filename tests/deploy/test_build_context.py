"""The image's build context (.dockerignore, matched with Docker's rules): it leaves out
caches, local state and virtual environments, everything git ignores, and keeps what the
image needs."""

from __future__ import annotations

import pytest

from tests.deploy.manifests import excluded, gitignore_samples, parse_dockerignore


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
    assert ex(["var"], "var/pg/data/PG_VERSION") and ex(["/var/"], "var/pg/data/PG_VERSION")
    assert not ex(["var"], "pkg/var")
    assert ex(["bench/results"], "bench/results/run.json") and not ex(["bench/results"], "bench/run.py")
    # Exceptions: the last matching line wins.
    assert not ex(["*.md", "!README*.md"], "README.md") and ex(["*.md", "!README*.md"], "CHANGES.md")
    assert ex(["*.md", "!README*.md", "README-secret.md"], "README-secret.md")
    assert not ex(["*.md", "README-secret.md", "!README*.md"], "README-secret.md")
    assert not ex(["*", "!services"], "services/crm/app.py") and ex(["*", "!services"], "tests/x.py")


LEFT_OUT = [
    ".git/HEAD", ".git/objects/ab/cdef",
    ".venv/bin/python", "services/crm/.venv/lib/x.py",
    ".cache/bin/kustomize", ".cache/go-build/00/x",
    # make run's PostgreSQL cluster and broker, their logs, its secret and the demo's clock
    "var/pg/data/base/16384/2619", "var/pg/data/PG_VERSION", "var/kafka/kraft/meta.properties",
    "var/log/postgres.log", "var/logs/gateway.log", "var/identity-secret", "var/demo-clock",
    "services/crm/var/pg/data/PG_VERSION",
    "__pycache__/x.cpython-311.pyc", "services/reception/__pycache__/app.cpython-311.pyc",
    "services/common/outbox.pyc", "gateway/app.pyo",
    ".pytest_cache/v/cache/nodeids", "tests/.pytest_cache/README.md",
    "artifacts/report.json", "bench/results/run-1.json",
    "node_modules/x/index.js", "gateway/static/node_modules/chart/index.js",
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


def test_build_context_leaves_out_everything_git_ignores(ignore_rules):
    samples = gitignore_samples()
    assert samples
    leaking = [p for p in samples if not excluded(p, ignore_rules)]
    assert leaking == [], f"git ignores these, but the image build context would include them: {leaking}"
