"""`make cluster`: the platform in production's shape on one machine (docs/scaling.md).

Three Kafka brokers (`kafka.py`), a PostgreSQL primary with a synchronous streaming standby
(`postgres.py`), two replicas of every service's API and worker and two gateways behind
nginx (`platform.py`); `python -m deploy.cluster` starts them all (`__main__.py`)."""
