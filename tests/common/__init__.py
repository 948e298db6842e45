"""Tests of the shared plumbing in services/common, unit and against real Kafka and PostgreSQL."""
