"""The crash test: the real app as a process, SIGKILLed again and again while a 50,000-row dataset
is uploaded through Kafka by a client that retries like a real one. Nothing is lost, nothing is
stored twice.

Two kinds of kills: at seeded random points of the upload (requests in flight), and exactly
between storing batches and committing their Kafka offsets - the window exactly-once depends on -
through a failpoint where the app pauses and says so (app/kit/failpoints.py). The test asserts
that those kills landed there and that the redelivered batches were skipped, not stored again."""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.domain.documents import generate_cnpj
from tests.conftest import BACKENDS, TEST_SECRET, migrated_pg_database, register_company
from tests.factories import make_credit_limit, make_customer, make_order, make_serasa_report
from tests.kafka.conftest import settled, unique
from tests.processes import AppProcess

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.slow,
    pytest.mark.skipif("postgresql" not in BACKENDS, reason="the crash test runs on PostgreSQL"),
]

BATCH_ITEMS = 500
IN_FLIGHT = 4
KILLS_DURING_UPLOAD = 3
KILLS_WHILE_STORING = 2  # at the failpoint between the database commit and the offset commit
SEED = int(os.environ.get("CREDITGATE_CRASH_SEED", "20261202"))
FAILPOINT = "kafka.batches.stored"
PATHS = {"customers": "customers", "credit_limits": "credit-limits",
         "serasa_reports": "serasa-reports", "orders": "orders"}


def history(rng: random.Random, customers: int = 2_000, orders: int = 45_000) -> dict[str, list[dict]]:
    """A valid dataset: every reference known, unique ids, both outcomes, dates in the past."""
    ids = [f"C{n:05d}" for n in range(customers)]
    start = datetime(2023, 1, 2, 8, 0)
    return {
        "customers": [make_customer(c, document=generate_cnpj(rng), state=rng.choice(["SP", "MG", "PR", "RS"]),
                                    customer_since=str(date(2012, 1, 1) + timedelta(days=rng.randrange(3000))))
                      for c in ids],
        "credit_limits": [make_credit_limit(c, limit_amount=float(rng.randrange(5, 500) * 1000)) for c in ids],
        "serasa_reports": [make_serasa_report(c, score=float(rng.randrange(200, 1000))) for c in ids],
        "orders": [make_order(f"O{n:06d}", rng.choice(ids), amount=rng.randrange(10_000, 5_000_000) / 100,
                              ordered_at=(start + timedelta(minutes=17 * n)).isoformat(),
                              status="blocked" if rng.random() < 0.2 else "billed")
                   for n in range(orders)],
    }


@dataclass(frozen=True)
class Batch:
    kind: str
    batch_id: str
    items: list[dict]
    final: bool

    def body(self) -> bytes:
        return orjson.dumps({"batch_id": self.batch_id, "items": self.items, "final": self.final})


def batches_of(data: dict[str, list[dict]]) -> tuple[list[Batch], list[Batch]]:
    """(every batch but the last of each kind, the last ones, marked final)."""
    body, finals = [], []
    for kind, items in data.items():
        chunks = [items[i:i + BATCH_ITEMS] for i in range(0, len(items), BATCH_ITEMS)]
        body += [Batch(kind, f"{kind}-{n:04d}", chunk, False) for n, chunk in enumerate(chunks[:-1])]
        finals.append(Batch(kind, f"{kind}-{len(chunks) - 1:04d}", chunks[-1], True))
    return body, finals


@dataclass
class Uploader:
    """A client that behaves like a real one: no 202 means retry the same batch_id later."""

    app: AppProcess
    http: httpx.AsyncClient
    headers: dict[str, str]
    dataset_id: str
    accepted: dict[tuple[str, str], int] = field(default_factory=dict)
    retries: int = 0

    async def send(self, batch: Batch) -> None:
        url = f"{self.app.url}/v1/datasets/{self.dataset_id}/{PATHS[batch.kind]}"
        body = batch.body()
        deadline = time.monotonic() + 60.0
        while True:
            assert time.monotonic() < deadline, f"batch {batch.batch_id} was never accepted"
            await self.app.up.wait()
            try:
                response = await self.http.post(url, content=body, headers=self.headers)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 202:
                self.accepted[(batch.kind, batch.batch_id)] = len(batch.items)
                return
            assert response is None or response.status_code >= 500, response.text
            self.retries += 1
            await asyncio.sleep(0.1)

    async def send_all(self, batches: list[Batch], then: list[Batch]) -> None:
        """`batches` several at a time, then (each kind's final batch after all its others) `then`."""
        slots = asyncio.Semaphore(IN_FLIGHT)

        async def one(batch: Batch) -> None:
            async with slots:
                await self.send(batch)

        for group in (batches, then):
            async with asyncio.TaskGroup() as tasks:
                for batch in group:
                    tasks.create_task(one(batch))


    async def stored(self) -> int | None:
        try:
            response = await self.http.get(f"{self.app.url}/v1/datasets/{self.dataset_id}", headers=self.headers)
        except httpx.TransportError:
            return None
        if response.status_code != 200:
            return None
        return sum(kind["batches_stored"] for kind in response.json()["kinds"].values())


async def kill_during_upload(app: AppProcess, uploader: Uploader, total: int, rng: random.Random) -> None:
    """SIGKILL and restart the app at random points of the upload, with requests in flight."""
    for share in sorted(rng.uniform(0.1, 0.9) for _ in range(KILLS_DURING_UPLOAD)):
        while len(uploader.accepted) < share * total:
            await asyncio.sleep(0.01)
        await asyncio.sleep(rng.uniform(0.0, 0.1))
        await app.restart()


def skipped_batches(log: Path) -> set[str]:
    """Batches the app found already stored when they came again (a redelivery), from its log."""
    return {orjson.loads(line)["batch_id"] for line in log.read_text().splitlines()
            if line.startswith("{") and "batch already stored, skipped" in line}


async def kill_while_storing(app: AppProcess, uploader: Uploader, finals: list[Batch], marker: Path,
                             log: Path) -> None:
    """Restart the app with the failpoint armed, send one final batch, and SIGKILL the app once it
    stored the batch and paused before committing the offset; then restart it unarmed and wait
    until the broker redelivered the batch and the app skipped it."""
    deadline = time.monotonic() + 60.0
    while await uploader.stored() != len(uploader.accepted):  # the next poll holds our batch alone
        assert time.monotonic() < deadline, "accepted batches were never stored"
        await asyncio.sleep(0.05)
    hits = marker.read_text().count(FAILPOINT) if marker.exists() else 0
    app.env = app.env | {"CREDITGATE_FAILPOINTS": f"{FAILPOINT}=30", "CREDITGATE_FAILPOINTS_MARKER": str(marker)}
    await app.restart()
    sending = asyncio.create_task(uploader.send_all([], then=finals))
    deadline = time.monotonic() + 60.0
    while not (marker.exists() and marker.read_text().count(FAILPOINT) > hits):
        assert time.monotonic() < deadline, "the consumer never reached the failpoint"
        await asyncio.sleep(0.02)
    await sending  # accepted (202) before the consumer stored it
    app.env = {k: v for k, v in app.env.items() if not k.startswith("CREDITGATE_FAILPOINTS")}
    await app.restart()
    deadline = time.monotonic() + 60.0
    while not {batch.batch_id for batch in finals} <= skipped_batches(log):
        assert time.monotonic() < deadline, "the batch stored before the kill was never redelivered"
        await asyncio.sleep(0.1)


@pytest.fixture
async def crash_database() -> str:
    async with migrated_pg_database("creditgate_crash") as url:
        yield url


def app_env(database_url: str, bootstrap: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITGATE_")}
    return env | {
        "CREDITGATE_ENV": "test",
        "CREDITGATE_JWT_SECRET": TEST_SECRET,
        "CREDITGATE_DATABASE_URL": database_url,
        "CREDITGATE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "CREDITGATE_KAFKA_TOPIC_PREFIX": unique("creditgate-crash"),
        "CREDITGATE_KAFKA_GROUP_ID": unique("creditgate-crash"),
        "CREDITGATE_AUTO_TRAIN": "false",
        "CREDITGATE_LOG_LEVEL": "INFO",
    }


async def test_sigkilled_app_loses_and_duplicates_nothing(crash_database, kafka_bootstrap, tmp_path, record_property):
    seed = SEED
    rng = random.Random(seed)
    marker = tmp_path / "failpoints.txt"
    data = history(rng)
    body, finals = batches_of(data)
    app = AppProcess(app_env(crash_database, kafka_bootstrap), tmp_path / "app.log")
    try:
        await app.start()
        async with httpx.AsyncClient(base_url=app.url, timeout=30.0) as http:
            tenant = await register_company(http)
            created = await http.post("/v1/datasets", json={"name": "crash"}, headers=tenant.headers)
            assert created.status_code == 201, created.text
            headers = tenant.headers | {"Content-Type": "application/json"}
            uploader = Uploader(app, http, headers, created.json()["id"])
            started = time.monotonic()
            total = len(body) + len(finals)
            held_back, finals = finals[:KILLS_WHILE_STORING], finals[KILLS_WHILE_STORING:]
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(kill_during_upload(app, uploader, total - len(held_back), rng))
                tasks.create_task(uploader.send_all(body, then=finals))
            uploaded = time.monotonic()
            for final in held_back:
                await kill_while_storing(app, uploader, [final], marker, tmp_path / "app.log")
            dataset = await wait_settled(http, tenant, uploader.dataset_id, timeout=60.0)
            finished = time.monotonic()
    finally:
        app.stop()
    rows = sum(map(len, data.values()))
    record_property("crash", {"seed": seed, "rows": rows, "kills": app.kills, "retries": uploader.retries,
                              "upload_s": round(uploaded - started, 1), "total_s": round(finished - started, 1),
                              "rows_per_s": round(rows / (finished - started))})
    assert app.kills == KILLS_DURING_UPLOAD + 2 * KILLS_WHILE_STORING
    assert marker.read_text().count(FAILPOINT) == KILLS_WHILE_STORING  # each of those kills landed in the window
    skipped = skipped_batches(tmp_path / "app.log")
    assert {b.batch_id for b in held_back} <= skipped, skipped  # redelivered after the kill, not stored twice
    assert dataset.get("status") == "valid", (
        f"seed {seed}, app log {tmp_path / 'app.log'}: {dataset.get('status')} {dataset.get('kinds')}")
    await assert_stored_exactly_once(crash_database, uploader, data)


async def wait_settled(http: httpx.AsyncClient, tenant, dataset_id: str, timeout: float) -> dict:
    """The dataset once validated, or its last known state at the deadline."""
    deadline, body = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        try:
            response = await http.get(f"/v1/datasets/{dataset_id}", headers=tenant.headers)
            if response.status_code == 200:
                body = response.json()
                if settled(body):
                    break
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.25)
    return body


async def assert_stored_exactly_once(database_url: str, uploader: Uploader, data: dict[str, list[dict]]) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as db:
            receipts = (await db.execute(text(
                "SELECT kind, batch_id, items, stored_at IS NOT NULL, error FROM dataset_batches "
                "WHERE dataset_id = :d"), {"d": uploader.dataset_id})).all()
            counts = {kind: await db.scalar(text(f"SELECT count(*) FROM {kind} WHERE dataset_id = :d"),
                                            {"d": uploader.dataset_id}) for kind in data}
            distinct_orders = await db.scalar(text(
                "SELECT count(DISTINCT order_id) FROM orders WHERE dataset_id = :d"), {"d": uploader.dataset_id})
    finally:
        await engine.dispose()
    assert {(kind, batch_id) for kind, batch_id, *_ in receipts} == set(uploader.accepted)
    assert len(receipts) == len(uploader.accepted)
    assert [r for r in receipts if not r[3] or r[4] is not None] == []
    assert {(kind, batch_id): items for kind, batch_id, items, *_ in receipts} == uploader.accepted
    expected = {kind: sum(n for (k, _), n in uploader.accepted.items() if k == kind) for kind in data}
    assert expected == {kind: len(items) for kind, items in data.items()}
    assert counts == expected
    assert distinct_orders == counts["orders"]
