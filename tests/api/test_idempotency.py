"""Nothing accepted is dropped and nothing is done twice: concurrent batches with one batch_id,
a batch_id reused with other items, concurrent training requests, and the bound on queued jobs."""

from __future__ import annotations

import asyncio

from app.domain.states import JobKind
from tests.api.test_datasets import new_dataset, settle, upload_all
from tests.factories import batch, make_order, small_history


async def test_the_same_batch_sent_concurrently_answers_one_receipt(app, client, tenant):
    dataset_id = await new_dataset(client, tenant)
    body = batch([make_order(f"O{n}") for n in range(50)], batch_id="same-batch")
    responses = await asyncio.gather(*(client.post(f"/v1/datasets/{dataset_id}/orders", json=body,
                                                   headers=tenant.headers) for _ in range(6)))
    assert [r.status_code for r in responses] == [202] * 6, [r.text for r in responses]
    receipts = [r.json() for r in responses]
    assert len({r["accepted_at"] for r in receipts}) == 1
    assert sorted(r["duplicate"] for r in receipts) == [False] + [True] * 5
    stored = await settle(app, client, tenant, dataset_id)
    assert stored["kinds"]["orders"]["batches_accepted"] == 1 and stored["kinds"]["orders"]["rows_stored"] == 50


async def test_a_batch_id_reused_with_other_items_is_409(app, client, tenant):
    dataset_id = await new_dataset(client, tenant)
    first = await client.post(f"/v1/datasets/{dataset_id}/orders", json=batch([make_order("O1")], batch_id="b-7"),
                              headers=tenant.headers)
    assert first.status_code == 202
    again = await client.post(f"/v1/datasets/{dataset_id}/orders", json=batch([make_order("O1")], batch_id="b-7"),
                              headers=tenant.headers)
    assert again.status_code == 202 and again.json()["duplicate"] is True
    for changed in (batch([make_order("O2")], batch_id="b-7"), batch([make_order("O1")], batch_id="b-7", final=True)):
        other = await client.post(f"/v1/datasets/{dataset_id}/orders", json=changed, headers=tenant.headers)
        assert other.status_code == 409, other.text
        assert "b-7" in other.json()["detail"] and other.json()["errors"][0]["field"] == "batch_id"
    stored = await settle(app, client, tenant, dataset_id)
    assert stored["kinds"]["orders"]["rows_stored"] == 1


async def valid_dataset(app, client, tenant) -> str:
    dataset_id = await new_dataset(client, tenant)
    await upload_all(client, tenant, dataset_id, small_history())
    assert (await settle(app, client, tenant, dataset_id))["status"] in ("valid", "training", "failed", "trained")
    await app.state.runtime.jobs.wait_idle()
    return dataset_id


async def test_concurrent_training_requests_create_one_job(app, client, tenant, monkeypatch):
    dataset_id = await valid_dataset(app, client, tenant)
    jobs = app.state.runtime.jobs
    gate, real_run = asyncio.Event(), app.state.runtime.training.run

    async def held(ref):  # the job waits until every request was answered (however slow the machine)
        await gate.wait()
        await real_run(ref)

    monkeypatch.setitem(jobs._handlers, JobKind.training, held)
    before = (await client.get("/v1/training-jobs", headers=tenant.headers)).json()["items"]
    try:
        responses = await asyncio.gather(*(client.post(f"/v1/datasets/{dataset_id}/train", headers=tenant.headers)
                                           for _ in range(5)))
    finally:
        gate.set()
    assert [r.status_code for r in responses] == [202] * 5, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    await jobs.wait_idle()
    after = (await client.get("/v1/training-jobs", headers=tenant.headers)).json()["items"]
    assert len(after) == len(before) + 1


async def test_queued_jobs_of_a_company_are_bounded(app, client, tenant, monkeypatch):
    first, second = await valid_dataset(app, client, tenant), await valid_dataset(app, client, tenant)
    training, jobs = app.state.runtime.training, app.state.runtime.jobs
    bounded = training.settings.model_copy(update={"max_unfinished_jobs_per_company": 1})
    monkeypatch.setattr(training, "settings", bounded)
    gate = asyncio.Event()
    real_run = training.run

    async def held(ref):  # the job stays running until the test lets it go
        await gate.wait()
        await real_run(ref)

    monkeypatch.setitem(jobs._handlers, JobKind.training, held)
    try:
        assert (await client.post(f"/v1/datasets/{first}/train", headers=tenant.headers)).status_code == 202
        refused = await client.post(f"/v1/datasets/{second}/train", headers=tenant.headers)
        assert refused.status_code == 429, refused.text
        assert refused.headers["retry-after"] == "30" and "queued or running" in refused.json()["detail"]
    finally:
        gate.set()
        await jobs.wait_idle()
