"""Crash-resume: the app is SIGKILLed while a training runs; after a restart the job finishes."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from app.client import CreditGateClient
from app.demo import generate
from tests.processes import sqlite_app

pytestmark = pytest.mark.slow


async def wait_job(api: CreditGateClient, statuses: set[str], timeout: float = 120) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        jobs = await api.training_jobs()
        if jobs and jobs[0]["status"] in statuses:
            return jobs[0]
        assert asyncio.get_running_loop().time() < deadline, jobs
        await asyncio.sleep(0.05)


async def test_training_interrupted_by_a_crash_resumes(tmp_path):
    app = await sqlite_app(tmp_path, "crash")
    await app.start()
    try:
        async with CreditGateClient(app.url, timeout=60) as api:
            await api.register("Crash Treino Ltda", f"crash-{uuid.uuid4().hex[:8]}@example.com")
            dataset = await api.create_dataset("crash")
            await api.upload_frames(dataset["id"], generate(customers=800, orders=40_000, seed=8).frames())
            running = await wait_job(api, {"running"})
            app.kill()  # the API process and its training worker, mid-training
            await app.start()
            finished = await wait_job(api, {"succeeded", "failed"}, timeout=180)
            assert finished["id"] == running["id"]
            assert finished["status"] == "succeeded", finished
            assert finished["attempts"] == 2
            assert [m["version"] for m in await api.models()] == [1]
            assert (await api.dataset(dataset["id"]))["status"] == "trained"

            # decisions answered just before a kill are journaled, and written after the restart
            made = [await api.decide({"order_id": f"K{n}", "customer_id": "C000001", "amount": 1000.0 + n,
                                      "payment_terms_days": 28}) for n in range(150)]
            app.kill()
            await app.start()
            listed = await api.request("GET", "/v1/decisions", params={"customer_id": "C000001", "limit": 500})
            assert {d["decision_id"] for d in listed["items"]} == {d["decision_id"] for d in made}
            events = await api.audit_events(action="decision.made", limit=500)
            assert len(events["items"]) == 150
    finally:
        app.stop()
