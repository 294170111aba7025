"""Registration and token issuance are rate limited per client address and per company."""

from __future__ import annotations

import uuid

import httpx
import pytest_asyncio

from app.main import create_app
from tests.conftest import make_settings


@pytest_asyncio.fixture
async def limited(database_url):
    settings = make_settings(database_url, rate_limit_registrations="2/minute", rate_limit_tokens="3/minute")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def register(client) -> httpx.Response:
    return await client.post("/v1/companies", json={"name": "Limitada Ltda",
                                                    "email": f"rl-{uuid.uuid4().hex[:8]}@example.com"})


async def test_registrations_beyond_the_rate_are_429_with_retry_after(limited):
    assert [(await register(limited)).status_code for _ in range(2)] == [201, 201]
    refused = await register(limited)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "address" in refused.json()["detail"] and "2 per 1 minute" in refused.json()["detail"]


async def test_token_issuance_is_limited_per_company_and_per_address(limited):
    first = (await register(limited)).json()
    headers = {"Authorization": f"Bearer {first['access_token']['token']}"}
    statuses = [(await limited.post("/v1/companies/me/tokens", headers=headers)).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    second = (await register(limited)).json()  # another company, the same address: its address is spent
    other = {"Authorization": f"Bearer {second['access_token']['token']}"}
    refused = await limited.post("/v1/companies/me/tokens", headers=other)
    assert refused.status_code == 429 and "address" in refused.json()["detail"]


async def test_limits_are_off_when_configured_empty(client, tenant):
    """The suite's own settings turn them off: many registrations from one address pass."""
    assert all([(await register(client)).status_code == 201 for _ in range(12)])
