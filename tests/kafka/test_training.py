"""Training requests through Kafka: the job record is consumed by the group and a version appears."""

from __future__ import annotations

import uuid

import httpx
import pytest

from app.client import CreditGateClient
from app.demo import generate
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
