from __future__ import annotations

import pytest


@pytest.fixture(params=["aiohttp", "httpx"])
def upstream_client(request) -> str:
    """Both clients GATEWAY_UPSTREAM_CLIENT can choose, for tests of what happens on the
    wire; every other gateway test runs on the production one."""
    return request.param
