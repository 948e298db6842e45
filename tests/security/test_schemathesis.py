"""Schemathesis against the merged OpenAPI at the real gateway, as an HQ admin, with a
bounded number of generated examples per operation: no answer is a server error, and
every documented answer matches its schema."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance


# FastAPI writes OpenAPI 3.1; Schemathesis 3 reads it behind this switch.
schemathesis.experimental.OPEN_API_3_1.enable()


@pytest.fixture(scope="session")
def merged_schema(platform):
    return schemathesis.from_uri(platform.gateway.url + "/openapi.json", base_url=platform.gateway.url)


schema = schemathesis.from_pytest_fixture("merged_schema").exclude(
    # A live stream never ends; test_upstream_http covers it.
    path_regex=r"/stream$",
)


@schema.parametrize()
@settings(max_examples=3, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_merged_contract_holds(case, platform):
    response = case.call(headers={"Authorization": f"Bearer {platform.bootstrap_key}"}, timeout=60)
    case.validate_response(response, checks=(not_a_server_error, response_schema_conformance,
                                              content_type_conformance))
