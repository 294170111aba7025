"""Replicas proven together: two API processes and one `creditgate worker` on one PostgreSQL and
one broker. Uploads and decisions are spread over both APIs, and each API is SIGKILLed once in the
middle (B while batches are uploaded, A while decisions are made), then started again. Then:
every acknowledged batch is stored once, every decision answered 201 is stored, a version (and a
credit policy) activated through one API is what the other uses on its next request, and a token
revoked through one API is refused by the other within AUTH_CACHE_SECONDS."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.demo import generate
from tests.conftest import BACKENDS, TEST_SECRET, migrated_pg_database
from tests.kafka.conftest import unique
from tests.processes import PYTHON, ROOT, AppProcess

pytestmark = [pytest.mark.kafka, pytest.mark.slow,
              pytest.mark.skipif("postgresql" not in BACKENDS, reason="the replicas share one PostgreSQL")]

AUTH_CACHE_SECONDS = 2.0
BATCH_ITEMS = 100
DECISIONS = 120
PATHS = {"customers": "customers", "credit_limits": "credit-limits", "serasa_reports": "serasa-reports",
         "orders": "orders"}


class WorkerProcess:
    """`creditgate worker`: the consumers and the trainings, no HTTP."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log_path = env, log
        self.process: subprocess.Popen | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([str(PYTHON), "-m", "app.cli", "worker"], cwd=ROOT, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        deadline = time.monotonic() + 60
        while b'"message": "started"' not in self.log_path.read_bytes().replace(b'"message":"started"',
                                                                                 b'"message": "started"'):
            assert self.process.poll() is None, self.log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "the worker did not start"
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


class Spread:
    """A client that sends each request to the next live API and retries elsewhere on failure."""

    def __init__(self, apis: list[AppProcess], http: httpx.AsyncClient) -> None:
        self.apis, self.http, self.turn = apis, http, itertools.count()

    async def send(self, method: str, path: str, *, ok: tuple[int, ...], **kwargs) -> tuple[httpx.Response, int]:
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline, f"{method} {path} never succeeded"
            index = next(self.turn) % len(self.apis)
            api = self.apis[index]
            if not api.up.is_set():
                await asyncio.sleep(0.02)
                continue
            try:
                response = await self.http.request(method, api.url + path, **kwargs)
            except httpx.TransportError:
                await asyncio.sleep(0.05)
                continue
            if response.status_code in ok:
                return response, index
            assert response.status_code >= 500, (response.status_code, response.text)
            await asyncio.sleep(0.05)


def env_for(url: str, bootstrap: str, folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITGATE_")}
    return env | {
        "CREDITGATE_ENV": "test", "CREDITGATE_JWT_SECRET": TEST_SECRET, "CREDITGATE_DATABASE_URL": url,
        "CREDITGATE_KAFKA_BOOTSTRAP_SERVERS": bootstrap, "CREDITGATE_KAFKA_TOPIC_PREFIX": unique("replicas"),
        "CREDITGATE_KAFKA_GROUP_ID": unique("replicas"), "CREDITGATE_LOG_LEVEL": "INFO",
        "CREDITGATE_AUTH_CACHE_SECONDS": str(AUTH_CACHE_SECONDS), "CREDITGATE_TRAINING_THREADS": "1",
        "CREDITGATE_MIN_ORDERS_PER_OUTCOME": "20", "CREDITGATE_RATE_LIMIT_TOKENS": "",
        "CREDITGATE_RATE_LIMIT_REGISTRATIONS": "", "CREDITGATE_DECISION_JOURNAL_DIR": str(folder / "journal"),
    }


@pytest.fixture
async def replica_database():
    async with migrated_pg_database("creditgate_replicas") as url:
        yield url


async def test_two_apis_and_a_worker_behave_as_one_service(replica_database, kafka_bootstrap, tmp_path,
                                                            record_property):
    started = time.monotonic()
    env = env_for(replica_database, kafka_bootstrap, tmp_path)
    apis = [AppProcess(env | {"CREDITGATE_DECISION_JOURNAL_DIR": str(tmp_path / f"journal-{n}")},
                       tmp_path / f"api-{n}.log") for n in range(2)]
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        await asyncio.gather(*(api.start() for api in apis), worker.start())
        async with httpx.AsyncClient(timeout=30.0) as http:
            spread = Spread(apis, http)
            registered, _ = await spread.send("POST", "/v1/companies", ok=(201,), json={
                "name": "Replicas Ltda", "email": f"r-{uuid.uuid4().hex[:8]}@example.com"})
            headers = {"Authorization": f"Bearer {registered.json()['access_token']['token']}"}
            dataset, _ = await spread.send("POST", "/v1/datasets", ok=(201,), json={"name": "replicas"},
                                           headers=headers)
            dataset_id = dataset.json()["id"]
            data = generate(customers=120, orders=2_400, seed=21)
            accepted = await upload_while_killing(spread, apis[1], headers, dataset_id, data)
            await wait_dataset(spread, headers, dataset_id, "trained", timeout=120)
            await assert_batches_stored_once(replica_database, dataset_id, accepted, data)

            decided = await decide_while_killing(spread, apis[0], headers, data)
            await assert_decisions_stored(spread, headers, replica_database, decided)

            await activation_reaches_the_other_api(spread, apis, headers, dataset_id)
            revoked_after = await revocation_reaches_the_other_api(spread, apis, headers)
    finally:
        for api in apis:
            api.stop()
        worker.stop()
    record_property("replicas", {"seconds": round(time.monotonic() - started, 1), "batches": len(accepted),
                                 "decisions": len(decided), "revocation_seen_after_s": round(revoked_after, 3)})


async def upload_while_killing(spread: Spread, victim: AppProcess, headers, dataset_id: str, data) -> dict:
    """Every kind in 100-item batches over both APIs, 4 in flight; `victim` is SIGKILLed when a
    third is accepted and started again; each kind's last batch goes alone, final."""
    frames = data.frames()
    batches = []
    for kind, frame in frames.items():
        rows = [{k: v for k, v in row.items() if v is not None} for row in frame.to_dicts()]
        chunks = [rows[i:i + BATCH_ITEMS] for i in range(0, len(rows), BATCH_ITEMS)]
        batches += [(kind, f"{kind}-{n:04d}", chunk, n == len(chunks) - 1) for n, chunk in enumerate(chunks)]
    body, finals = [b for b in batches if not b[3]], [b for b in batches if b[3]]
    accepted: dict[tuple[str, str], int] = {}
    slots = asyncio.Semaphore(4)

    async def send(kind: str, batch_id: str, items: list[dict], final: bool) -> None:
        async with slots:
            payload = orjson.dumps({"batch_id": batch_id, "items": items, "final": final}, default=str)
            await spread.send("POST", f"/v1/datasets/{dataset_id}/{PATHS[kind]}", ok=(202,), content=payload,
                              headers=headers | {"content-type": "application/json"})
        accepted[(kind, batch_id)] = len(items)

    async def kill_at_a_third() -> None:
        while len(accepted) < len(batches) // 3:
            await asyncio.sleep(0.01)
        await victim.restart()

    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(kill_at_a_third())
        for batch in body:
            tasks.create_task(send(*batch))
    for batch in finals:
        await send(*batch)
    assert victim.kills == 1
    return accepted


async def wait_dataset(spread: Spread, headers, dataset_id: str, status: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = (await spread.send("GET", f"/v1/datasets/{dataset_id}", ok=(200,), headers=headers))[0].json()
        if body["status"] == status or time.monotonic() > deadline:
            assert body["status"] == status, body
            return body
        await asyncio.sleep(0.25)


async def assert_batches_stored_once(url: str, dataset_id: str, accepted: dict, data) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as db:
            receipts = (await db.execute(text("SELECT kind, batch_id, items, stored_at IS NOT NULL, error "
                                              "FROM dataset_batches WHERE dataset_id = :d"), {"d": dataset_id})).all()
            counts = {kind: await db.scalar(text(f"SELECT count(*) FROM {kind} WHERE dataset_id = :d"),
                                            {"d": dataset_id}) for kind in data.frames()}
    finally:
        await engine.dispose()
    assert {(kind, batch_id): items for kind, batch_id, items, *_ in receipts} == accepted
    assert all(stored and error is None for *_, stored, error in receipts)
    assert counts == {kind: frame.height for kind, frame in data.frames().items()}


async def decide_while_killing(spread: Spread, victim: AppProcess, headers, data) -> list[dict]:
    """Decisions over both APIs, 4 in flight; `victim` is SIGKILLed half-way and started again."""
    customers = data.customers["customer_id"].to_list()
    decided: list[dict] = []
    slots = asyncio.Semaphore(4)

    async def decide(n: int) -> None:
        order = {"order_id": f"R{n:05d}", "customer_id": customers[n % len(customers)],
                 "amount": 1000.0 + n, "payment_terms_days": 28}
        async with slots:
            response, _ = await spread.send("POST", "/v1/decisions", ok=(201,), json={"order": order},
                                            headers=headers)
        decided.append(response.json())

    async def kill_half_way() -> None:
        while len(decided) < DECISIONS // 2:
            await asyncio.sleep(0.005)
        await victim.restart()

    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(kill_half_way())
        for n in range(DECISIONS):
            tasks.create_task(decide(n))
    assert victim.kills == 1 and len(decided) == DECISIONS
    return decided


async def assert_decisions_stored(spread: Spread, headers, url: str, decided: list[dict]) -> None:
    """Each 201 is stored (the killed API's journal is replayed when it starts again)."""
    wanted = {d["decision_id"] for d in decided}
    engine = create_async_engine(url)
    deadline = time.monotonic() + 30
    try:
        while True:
            async with engine.connect() as db:
                stored = set((await db.scalars(text("SELECT id FROM decisions WHERE id = ANY(:ids)"),
                                               {"ids": list(wanted)})).all())
            if stored == wanted or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()
    assert wanted - stored == set()


async def activation_reaches_the_other_api(spread: Spread, apis: list[AppProcess], headers, dataset_id) -> None:
    """Version 2 trained with auto-activation off; activated through A, used by B at once (both
    APIs had version 1 cached for this company and token)."""
    http = spread.http
    assert (await http.patch(f"{apis[0].url}/v1/companies/me", json={"auto_activate_models": False},
                             headers=headers)).status_code == 200
    assert (await http.post(f"{apis[0].url}/v1/datasets/{dataset_id}/train", headers=headers)).status_code == 202
    deadline = time.monotonic() + 120
    while not any(m["version"] == 2 for m in (await http.get(f"{apis[1].url}/v1/models",
                                                             headers=headers)).json()["items"]):
        assert time.monotonic() < deadline, "version 2 was never trained"
        await asyncio.sleep(0.25)
    order = {"order": {"order_id": "ACT-1", "customer_id": "C000001", "amount": 500.0, "payment_terms_days": 7}}
    for api in apis:  # both APIs warm, on version 1
        response = await http.post(f"{api.url}/v1/decisions", json=order, headers=headers)
        assert response.status_code == 201 and response.json()["model_version"] == 1, response.text
    assert (await http.post(f"{apis[0].url}/v1/models/2/activate", headers=headers)).status_code == 200
    order["order"]["order_id"] = "ACT-2"  # ACT-1 again would be a repeat: its stored decision
    response = await http.post(f"{apis[1].url}/v1/decisions", json=order, headers=headers)
    assert response.status_code == 201 and response.json()["model_version"] == 2, response.text

    # a credit policy activated through A decides B's next order
    policy = {"name": "stop everything", "rules": [{
        "id": "freeze", "action": "block", "label": {"en": "Billing frozen", "pt-BR": "Faturamento congelado"},
        "when": {"all": [{"field": "amount", "op": ">=", "value": 0}]}}]}
    created = await http.post(f"{apis[0].url}/v1/policies", json=policy, headers=headers)
    assert created.status_code == 201, created.text
    activated = await http.post(f"{apis[0].url}/v1/policies/{created.json()['version']}/activate", headers=headers)
    assert activated.status_code == 200, activated.text
    order["order"]["order_id"] = "ACT-3"
    response = await http.post(f"{apis[1].url}/v1/decisions", json=order, headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["decision"], body["decided_by"], body["policy_version"]) == ("block", "rule", 1), body
    assert body["reasons"][0]["text"] == "Billing frozen"


async def revocation_reaches_the_other_api(spread: Spread, apis: list[AppProcess], headers) -> float:
    """A second token, used (so cached) by B, revoked through A: B refuses it within the TTL."""
    http = spread.http
    issued = await http.post(f"{apis[0].url}/v1/companies/me/tokens", headers=headers)
    assert issued.status_code == 201, issued.text
    token = issued.json()
    other = {"Authorization": f"Bearer {token['token']}"}
    assert (await http.get(f"{apis[1].url}/v1/companies/me", headers=other)).status_code == 200
    revoked = await http.delete(f"{apis[0].url}/v1/companies/me/tokens/{token['jti']}", headers=headers)
    assert revoked.status_code == 204
    since = time.monotonic()
    while (await http.get(f"{apis[1].url}/v1/companies/me", headers=other)).status_code != 401:
        assert time.monotonic() - since <= AUTH_CACHE_SECONDS, "the other API kept accepting a revoked token"
        await asyncio.sleep(0.02)
    return time.monotonic() - since
