"""Datasets through the Kafka transport on a real broker (Tansu), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from prometheus_client import REGISTRY
from sqlalchemy import text

from app.services.ingestion import BatchEnvelope
from app.transport.kafka import DEAD_LETTER_HEADER
from tests.conftest import register_company
from tests.factories import batch, make_customer, make_order, small_history
from tests.kafka.conftest import new_dataset, running_app, settled, wait_for

pytestmark = pytest.mark.kafka

PATHS = {"customers": "customers", "credit-limits": "credit_limits",
         "serasa-reports": "serasa_reports", "orders": "orders"}


async def upload_history(client, tenant, dataset_id: str, history: dict) -> None:
    for path in PATHS:
        response = await client.post(f"/v1/datasets/{dataset_id}/{path}", json=batch(history[path], final=True),
                                     headers=tenant.headers)
        assert response.status_code == 202, response.text


async def raw_send(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str, count: int, timeout: float = 15.0) -> list:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    records = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < count and asyncio.get_running_loop().time() < deadline:
            for partition in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(partition)
    finally:
        await consumer.stop()
    return records


def handled(kind: dict) -> int:
    return kind["batches_stored"] + kind["batches_failed"]


async def stored_rows(app, dataset_id: str) -> dict[str, int]:
    async with app.state.runtime.sessions() as session:
        return {table: await session.scalar(text(f"SELECT count(*) FROM {table} WHERE dataset_id = :d"),
                                            {"d": dataset_id})
                for table in PATHS.values()}


def dead_lettered(kind: str) -> float:
    return REGISTRY.get_sample_value("creditgate_batches_dead_lettered_total", {"kind": kind}) or 0.0


class TestDelivery:
    async def test_dataset_through_kafka_becomes_valid(self, kafka_settings):
        async with running_app(kafka_settings) as (app, client):
            tenant = await register_company(client)
            dataset_id = await new_dataset(client, tenant)
            await upload_history(client, tenant, dataset_id, small_history())
            body = await wait_for(client, tenant, dataset_id, settled)
            assert body["status"] == "valid", body
            assert body["report"]["rows"] == {"customers": 4, "credit_limits": 4, "serasa_reports": 4, "orders": 12}
            assert {k: (v["batches_accepted"], v["batches_stored"]) for k, v in body["kinds"].items()} == {
                kind: (1, 1) for kind in PATHS.values()}

    async def test_same_batch_twice_is_stored_once(self, kafka_settings):
        async with running_app(kafka_settings) as (app, client):
            tenant = await register_company(client)
            dataset_id = await new_dataset(client, tenant)
            url = f"/v1/datasets/{dataset_id}/customers"
            items = [make_customer("C1"), make_customer("C2")]
            first = await client.post(url, json=batch(items, batch_id="dup-1"), headers=tenant.headers)
            again = await client.post(url, json=batch(items, batch_id="dup-1"), headers=tenant.headers)
            assert first.status_code == again.status_code == 202, again.text
            assert again.json()["accepted_at"] == first.json()["accepted_at"]
            assert again.json()["duplicate"] is True
            # Published a second time, as when the API died after the broker's ack and the client retried.
            envelope = BatchEnvelope(tenant.company_id, dataset_id, "customers", "dup-1", 2, False, orjson.dumps(items))
            await raw_send(kafka_settings.kafka_bootstrap_servers, app.state.runtime.batch_queue.topic,
                           [(envelope.key, envelope.encode())])
            # A later batch of the same dataset shares the partition: once stored, the copy was handled.
            later = await client.post(url, json=batch([make_customer("C3")], batch_id="after"), headers=tenant.headers)
            assert later.status_code == 202, later.text
            body = await wait_for(client, tenant, dataset_id, lambda b: b["kinds"]["customers"]["batches_stored"] == 2)
            assert body["kinds"]["customers"] == {"batches_accepted": 2, "batches_stored": 2, "batches_failed": 0,
                                                  "rows_accepted": 3, "rows_stored": 3, "final": False}
            assert (await stored_rows(app, dataset_id))["customers"] == 3

    async def test_poisoned_records_are_dead_lettered_and_consumption_goes_on(self, kafka_settings):
        bootstrap = kafka_settings.kafka_bootstrap_servers
        counted = {kind: dead_lettered(kind) for kind in ("undecodable", "customers")}
        async with running_app(kafka_settings) as (app, client):
            queue = app.state.runtime.batch_queue
            tenant = await register_company(client)
            dataset_id = await new_dataset(client, tenant)
            key = f"{tenant.company_id}:{dataset_id}".encode()  # the good batch's partition, ahead of it
            garbage = b"\x00\xffthis is not an envelope"
            ghost = BatchEnvelope(tenant.company_id, "no-such-dataset", "customers", "ghost-1", 1, False,
                                  orjson.dumps([make_customer("G1")]))
            await raw_send(bootstrap, queue.topic, [(key, garbage), (key, ghost.encode())])
            good = await client.post(f"/v1/datasets/{dataset_id}/customers", json=batch([make_customer("C1")]),
                                     headers=tenant.headers)
            assert good.status_code == 202, good.text
            body = await wait_for(client, tenant, dataset_id, lambda b: b["kinds"]["customers"]["rows_stored"] == 1)
            assert body["kinds"]["customers"]["rows_stored"] == 1, body
            dead = await read_topic(bootstrap, queue.dead_letter_topic, count=2)
            lag = REGISTRY.get_sample_value("creditgate_kafka_consumer_lag", {"topic": queue.topic})
        assert len(dead) == 2
        assert {kind: dead_lettered(kind) - n for kind, n in counted.items()} == {"undecodable": 1, "customers": 1}
        assert lag is not None and lag >= 0  # set on every poll, from the highwater the fetch returned
        headers = [orjson.loads(dict(record.headers)[DEAD_LETTER_HEADER]) for record in dead]
        by_value = {record.value: header for record, header in zip(dead, headers, strict=True)}
        assert by_value[garbage]["reason"].startswith("undecodable record")
        assert "no-such-dataset does not exist" in by_value[ghost.encode()]["reason"]
        assert {h["topic"] for h in headers} == {queue.topic}
        assert all(record.key == key for record in dead)

    async def test_batch_the_database_rejects_is_isolated_and_dead_lettered(self, kafka_settings):
        """An amount of 1e12 passes the item schema but overflows NUMERIC(14,2) on PostgreSQL, an error
        the sink does not classify: the consumer retries, then stores batch by batch and dead-letters
        only that one. SQLite has no precision and stores it: there the test checks that nothing is
        dead-lettered and all three are stored. Either way nothing blocks the partition."""
        async with running_app(kafka_settings) as (app, client):
            tenant = await register_company(client)
            dataset_id = await new_dataset(client, tenant)
            url = f"/v1/datasets/{dataset_id}/orders"
            first = await client.post(url, json=batch([make_order("O1")], batch_id="good-1"), headers=tenant.headers)
            huge = BatchEnvelope(tenant.company_id, dataset_id, "orders", "huge", 1, False,
                                 orjson.dumps([make_order("O2", amount=1e12)]))
            await raw_send(kafka_settings.kafka_bootstrap_servers, app.state.runtime.batch_queue.topic,
                           [(huge.key, huge.encode())])
            last = await client.post(url, json=batch([make_order("O3")], batch_id="good-2"), headers=tenant.headers)
            assert first.status_code == last.status_code == 202, last.text
            body = await wait_for(client, tenant, dataset_id, lambda b: handled(b["kinds"]["orders"]) == 3)
        orders = body["kinds"]["orders"]
        assert orders["batches_accepted"] == handled(orders) == 3, orders
        if kafka_settings.database_url.startswith("postgresql"):
            assert orders["rows_stored"] == 2 and orders["batches_failed"] == 1
            assert [d["batch_id"] for d in body["dead_letters"]] == ["huge"]
            assert "numeric" in body["dead_letters"][0]["reason"].lower()
        else:
            assert orders["rows_stored"] == 3 and body["dead_letters"] == []


async def balanced(queues, partitions: int, timeout: float = 40.0) -> None:
    """Until every replica owns some partitions and together they own each exactly once."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        owned = [{tp.partition for tp in queue.assignment()} for queue in queues]
        if all(owned) and sum(map(len, owned)) == partitions == len(set().union(*owned)):
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"the consumer group did not balance: {[queue.assignment() for queue in queues]}")


async def datasets_covering(client, tenant, partitions: int) -> list[str]:
    """New datasets until their keys (company:dataset) land on every partition."""
    partitioner, ids, covered = DefaultPartitioner(), [], set()
    every = list(range(partitions))
    while len(covered) < partitions:
        assert len(ids) < 60, "dataset keys never covered every partition"
        ids.append(await new_dataset(client, tenant))
        covered.add(partitioner(f"{tenant.company_id}:{ids[-1]}".encode(), every, every))
    return ids


class TestConsumerGroup:
    async def test_two_replicas_share_the_work_and_store_each_batch_once(self, kafka_settings):
        partitions = kafka_settings.kafka_partitions
        async with running_app(kafka_settings) as (app_a, client_a), running_app(kafka_settings) as (app_b, client_b):
            queues = [app_a.state.runtime.batch_queue, app_b.state.runtime.batch_queue]
            await balanced(queues, partitions)
            tenant = await register_company(client_a)
            ids = await datasets_covering(client_a, tenant, partitions)
            history = small_history()
            await asyncio.gather(*(upload_history((client_a, client_b)[n % 2], tenant, dataset_id, history)
                                   for n, dataset_id in enumerate(ids)))
            bodies = [await wait_for(client_b, tenant, dataset_id, settled) for dataset_id in ids]
            assert [body["status"] for body in bodies] == ["valid"] * len(ids), bodies
            assert all(queue.records_committed > 0 for queue in queues), [q.records_committed for q in queues]
            for dataset_id in ids:
                assert await stored_rows(app_a, dataset_id) == {
                    "customers": 4, "credit_limits": 4, "serasa_reports": 4, "orders": 12}
            async with app_a.state.runtime.sessions() as session:
                receipts = await session.execute(text(
                    "SELECT count(*), count(stored_at), count(DISTINCT dataset_id || kind || batch_id) "
                    "FROM dataset_batches WHERE company_id = :c"), {"c": tenant.company_id})
                assert tuple(receipts.one()) == (4 * len(ids),) * 3
