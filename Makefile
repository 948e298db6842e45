# Entry points. `make run` starts the whole platform; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help install run test test-fast fuzz bench demo asyncapi kafka-jars keycloak clean lint cluster drill

help:
	@echo "make run       start PostgreSQL, Keycloak, Kafka, the four services and the gateway (Ctrl-C stops all)"
	@echo "make test      run every test (starts and stops Kafka and PostgreSQL itself)"
	@echo "make cluster   the platform as a cluster: 3 brokers, PostgreSQL primary + standby, 2 replicas, nginx, Keycloak, restarts"
	@echo "make drill     the cluster fault drill with 1,000 car lives (DRILL_LIVES=...; make test runs it with 200)"
	@echo "make lint      ruff and mypy on services/, gateway/ and deploy/"
	@echo "make fuzz      Schemathesis on the merged contract, 30,000 requests (FUZZ_REQUESTS=...)"
	@echo "make bench     benchmarks; results in bench/results/ and docs/performance.md"
	@echo "make demo      fill a running platform with a realistic network (DEMO_ARGS='--scale 1')"
	@echo "make asyncapi  regenerate docs/events/ from the event catalogue"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

kafka-jars: $(STAMP)
	$(PY) -m deploy.kafka.broker fetch

# Keycloak, the staff's OpenID Connect provider: fetched and built once into .cache/.
keycloak: $(STAMP)
	$(PY) -m deploy.oidc.keycloak fetch

run: install kafka-jars
	$(PY) -m deploy.local

# TEST_WORKERS=2 runs the tests on two xdist workers, each with its own broker and database
# (tests/conftest.py says which tests stay together). Not the default: on two shared cores
# the two workers' platforms starved each other (gateway key checks timing out, 503s).
TEST_WORKERS ?= 0
test: install kafka-jars keycloak
	$(PY) -m pytest -q $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadgroup) --durations=15 $(PYTEST_ARGS)

# make test's Schemathesis run (tests/security/test_schemathesis.py) with ten times its
# requests, following the contract's OpenAPI links; -rP prints the count and the answers.
FUZZ_REQUESTS ?= 30000
fuzz: install kafka-jars keycloak
	FUZZ_REQUESTS=$(FUZZ_REQUESTS) FUZZ_STATEFUL=links $(PY) -m pytest -q -rP tests/security/test_schemathesis.py $(PYTEST_ARGS)

# docs/scaling.md: the cluster on this machine, and the fault drill through it.
cluster: install kafka-jars
	$(PY) -m deploy.cluster

# make test runs the same drill with 200 lives (the test's default; docs/scaling.md).
DRILL_LIVES ?= 1000
drill: install kafka-jars
	CLUSTER_DRILL_LIVES=$(DRILL_LIVES) $(PY) -m pytest -q -s tests/reliability/test_cluster_drill.py $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check services gateway deploy
	$(VENV)/bin/mypy

bench: install kafka-jars
	$(PY) -m bench $(BENCH_ARGS)

demo: install
	$(PY) -m tools.demo $(DEMO_ARGS)

asyncapi: install
	$(PY) -m services.common.events.asyncapi

# Stops nothing: run it with the platform stopped. Removes the local database, broker and Keycloak data too.
clean:
	rm -rf var/pg var/kafka var/keycloak var/log .pytest_cache
