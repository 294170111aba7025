"""Training requests through Kafka: the job record is consumed by the group and a version appears."""

from __future__ import annotations

import uuid

import httpx
import pytest

from app.client import CreditGateClient
from app.demo import generate
from tests.conftest import BACKENDS
from tests.kafka.conftest import running_app

pytestmark = pytest.mark.kafka


async def test_valid_dataset_trains_through_the_training_topic(kafka_settings):
    settings = kafka_settings.model_copy(update={"auto_train": True})
    async with running_app(settings) as (app, _):
        assert type(app.state.runtime.jobs.queue).__name__ == "KafkaJobQueue"
        api = CreditGateClient("http://test", transport=httpx.ASGITransport(app=app))
        async with api:
            await api.register("Kafka Treino Ltda", f"kt-{uuid.uuid4().hex[:8]}@example.com")
            dataset = await api.create_dataset("kafka training")
            await api.upload_frames(dataset["id"], generate(customers=150, orders=3000, seed=4).frames())
            done = await api.wait_for_dataset(dataset["id"], ("trained", "failed", "invalid"), timeout=120)
            assert done["status"] == "trained", done
            jobs = await api.training_jobs()
            assert [j["status"] for j in jobs] == ["succeeded"] and jobs[0]["attempts"] == 1
            assert (await api.model(1))["active"] is True


@pytest.mark.slow
@pytest.mark.skipif("postgresql" not in BACKENDS, reason="two replicas share one PostgreSQL")
async def test_a_replica_dying_mid_training_leaves_the_job_to_another(kafka_bootstrap, tmp_path):
    """Two API replicas in one consumer group; the one running the training is SIGKILLed (with its
    training worker); the job record, never committed, goes to the survivor, which finishes it."""
    import asyncio
    import os
    import time

    from tests.conftest import TEST_SECRET, migrated_pg_database
    from tests.e2e.test_training_pool import _descendants
    from tests.kafka.conftest import unique
    from tests.processes import AppProcess

    async with migrated_pg_database("creditgate_replicas") as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITGATE_")} | {
            "CREDITGATE_ENV": "test", "CREDITGATE_JWT_SECRET": TEST_SECRET, "CREDITGATE_DATABASE_URL": url,
            "CREDITGATE_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "CREDITGATE_LOG_LEVEL": "INFO",
            "CREDITGATE_KAFKA_TOPIC_PREFIX": unique("replica-training"), "CREDITGATE_KAFKA_GROUP_ID": unique("g"),
            "CREDITGATE_TRAINING_THREADS": "1"}
        replicas = [AppProcess(env | {"CREDITGATE_DECISION_JOURNAL_DIR": str(tmp_path / f"journal-{n}")},
                               tmp_path / f"replica-{n}.log") for n in range(2)]
        try:
            for replica in replicas:
                await replica.start()
            async with CreditGateClient(replicas[0].url, timeout=60) as api:
                await api.register("Replicas Treino Ltda", f"rt-{uuid.uuid4().hex[:8]}@example.com")
                dataset = await api.create_dataset("replicas")
                await api.upload_frames(dataset["id"], generate(customers=500, orders=40_000, seed=6).frames())
                deadline = time.monotonic() + 120
                while not (runners := [r for r in replicas if _descendants(r.process.pid)]):
                    assert time.monotonic() < deadline, "no replica started the training"
                    await asyncio.sleep(0.05)
                jobs = await api.training_jobs()
                assert jobs[0]["status"] == "running" and jobs[0]["attempts"] == 1
                dying = runners[0]
                survivor = next(r for r in replicas if r is not dying)
                dying.kill()
            async with CreditGateClient(survivor.url, api.http.headers["Authorization"].split()[1], timeout=60) as api:
                done = await api.wait_for_dataset(dataset["id"], ("trained", "failed"), timeout=180)
                jobs = await api.training_jobs()
                assert done["status"] == "trained", (done, jobs)
                assert [(j["status"], j["attempts"]) for j in jobs] == [("succeeded", 2)]
                assert [m["version"] for m in await api.models()] == [1]
        finally:
            for replica in replicas:
                replica.stop()
