from __future__ import annotations

import uuid

import httpx
import pytest
import pytest_asyncio

from app.client import CreditGateClient
from app.demo import generate


def frames_of(data) -> dict:
    return {k: getattr(data, k) for k in ("customers", "credit_limits", "serasa_reports", "orders")}


@pytest.fixture(scope="session")
def demo_frames():
    """A dataset with a learnable, noisy signal (the demo generator's outcome rule)."""
    return frames_of(generate(customers=250, orders=6000, seed=11))


@pytest.fixture(scope="session")
def holdout_frames():
    return frames_of(generate(customers=120, orders=2000, seed=99))


async def new_client(app) -> CreditGateClient:
    api = CreditGateClient("http://test", transport=httpx.ASGITransport(app=app))
    await api.register("Distribuidora E2E Ltda", f"e2e-{uuid.uuid4().hex[:10]}@example.com")
    return api


@pytest_asyncio.fixture
async def api(app):
    client = await new_client(app)
    async with client:
        yield client


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def companies(app):
    """Two companies with a model trained on a small demo history: the first with versions 1 and 2
    and two evaluations of version 1, the second with version 1 and one evaluation. Per backend,
    shared by the tests that only read them (training is the slow part of the suite)."""
    from tests.e2e.test_resources import set_up

    frames = frames_of(generate(customers=120, orders=2000, seed=3))
    first = await set_up(app, await new_client(app), frames, trainings=2, evaluations=2)
    second = await set_up(app, await new_client(app), frames, trainings=1, evaluations=1)
    yield first, second
    for company in (first, second):
        await company.api.__aexit__(None, None, None)
