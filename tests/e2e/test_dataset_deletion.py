"""A dataset can be resumed (its receipts so far) or deleted (rows gone, versions kept on request)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.client import ApiError
from app.db.records import TABLES
from app.demo import generate
from tests.e2e.conftest import frames_of, new_client
from tests.e2e.test_training_flow import train_and_wait
from tests.factories import batch, make_customer, make_order


async def rows_of(app, dataset_id: str) -> int:
    async with app.state.runtime.sessions() as session:
        return sum([await session.scalar(select(func.count()).select_from(t).where(t.c.dataset_id == dataset_id))
                    for t in TABLES.values()])


async def test_an_interrupted_upload_lists_its_receipts_and_can_be_deleted(app):
    async with await new_client(app) as api:
        dataset = (await api.create_dataset("interrupted"))["id"]
        await api.request("POST", f"/v1/datasets/{dataset}/customers",
                          json=batch([make_customer("C1"), make_customer("C2")], batch_id="customers-0000000"))
        await api.request("POST", f"/v1/datasets/{dataset}/orders",
                          json=batch([make_order("O1", "C1")], batch_id="orders-0000000"))
        await app.state.runtime.batch_queue.drain()
        receipts = await api.pages(f"/v1/datasets/{dataset}/batches")
        assert {(r["kind"], r["batch_id"], r["items"]) for r in receipts} == {
            ("customers", "customers-0000000", 2), ("orders", "orders-0000000", 1)}
        assert all(r["stored_at"] and r["dead_letter_reason"] is None for r in receipts)
        assert await rows_of(app, dataset) == 3

        await api.request("DELETE", f"/v1/datasets/{dataset}")
        assert await rows_of(app, dataset) == 0
        for path in (f"/v1/datasets/{dataset}", f"/v1/datasets/{dataset}/batches"):
            with pytest.raises(ApiError) as info:
                await api.request("GET", path)
            assert info.value.status_code == 404
        assert dataset not in {d["id"] for d in await api.pages("/v1/datasets")}
        deleted = (await api.audit_events(action="dataset.deleted"))["items"][0]
        assert deleted["subject_id"] == dataset and deleted["summary"]["rows"]["customers"] == 2


async def test_a_dataset_that_trained_versions_is_deleted_only_keeping_them(app):
    frames = frames_of(generate(customers=120, orders=2000, seed=4))
    async with await new_client(app) as api:
        trained = await train_and_wait(app, api, frames)
        assert trained["status"] == "trained"
        with pytest.raises(ApiError) as info:
            await api.request("DELETE", f"/v1/datasets/{trained['id']}")
        assert info.value.status_code == 409 and "[1]" in info.value.body["detail"]
        assert await rows_of(app, trained["id"]) > 0

        await api.request("DELETE", f"/v1/datasets/{trained['id']}", params={"keep_versions": "true"})
        assert await rows_of(app, trained["id"]) == 0
        assert (await api.model(1))["dataset_id"] == trained["id"]  # the version is kept, and still decides
        order = {"order_id": "after-delete", "customer_id": "NEW", "amount": 1000.0, "payment_terms_days": 28}
        decided = await api.decide(order, context={"credit_limit": {"limit_amount": 5000.0}})
        assert decided["model_version"] == 1
