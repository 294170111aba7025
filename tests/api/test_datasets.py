"""Datasets through the in-process queue (the embedded default), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from tests.factories import batch, make_customer, make_order, small_history

PATHS = ["customers", "credit-limits", "serasa-reports", "orders"]


async def new_dataset(client, tenant, **body) -> str:
    response = await client.post("/v1/datasets", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "receiving"
    return response.json()["id"]


async def upload_all(client, tenant, dataset_id, history) -> None:
    for path in PATHS:
        response = await client.post(
            f"/v1/datasets/{dataset_id}/{path}", json=batch(history[path], final=True), headers=tenant.headers
        )
        assert response.status_code == 202, response.text


async def settle(app, client, tenant, dataset_id, timeout: float = 20.0) -> dict:
    """Wait until every accepted batch is stored and no validation is running."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await app.state.runtime.batch_queue.drain()
        body = (await client.get(f"/v1/datasets/{dataset_id}", headers=tenant.headers)).json()
        pending = any(k["batches_stored"] + k["batches_failed"] < k["batches_accepted"] for k in body["kinds"].values())
        if (not pending and body["status"] != "validating") or asyncio.get_running_loop().time() > deadline:
            return body
        await asyncio.sleep(0.05)


class TestLifecycle:
    async def test_complete_dataset_becomes_valid(self, app, client, tenant):
        dataset_id = await new_dataset(client, tenant, name="history 2023")
        await upload_all(client, tenant, dataset_id, small_history())
        body = await settle(app, client, tenant, dataset_id)
        # a 12-order set may already have failed training
        assert body["status"] in {"valid", "training", "trained", "failed"}, body
        assert body["report"]["valid"] is True
        assert body["report"]["rows"] == {"customers": 4, "credit_limits": 4, "serasa_reports": 4, "orders": 12}
        assert body["kinds"]["orders"] == {
            "batches_accepted": 1, "batches_stored": 1, "batches_failed": 0,
            "rows_accepted": 12, "rows_stored": 12, "final": True,
        }
        actions = {e["action"] for e in (await client.get("/v1/audit-events", headers=tenant.headers)).json()["items"]}
        assert {"dataset.created", "batch.accepted", "dataset.kind_completed", "dataset.validated"} <= actions

    async def test_incomplete_dataset_stays_receiving(self, app, client, tenant):
        dataset_id = await new_dataset(client, tenant)
        history = small_history()
        for path in PATHS[:3]:
            await client.post(f"/v1/datasets/{dataset_id}/{path}", json=batch(history[path], final=True),
                              headers=tenant.headers)
        await client.post(f"/v1/datasets/{dataset_id}/orders", json=batch(history["orders"]), headers=tenant.headers)
        body = await settle(app, client, tenant, dataset_id)
        assert body["status"] == "receiving"
        assert body["kinds"]["orders"]["final"] is False
        assert body["kinds"]["orders"]["rows_stored"] == 12

    async def test_same_batch_id_returns_same_receipt_and_stores_once(self, app, client, tenant):
        dataset_id = await new_dataset(client, tenant)
        payload = batch([make_customer("C1"), make_customer("C2")], batch_id="b-1")
        first = await client.post(f"/v1/datasets/{dataset_id}/customers", json=payload, headers=tenant.headers)
        again = await client.post(f"/v1/datasets/{dataset_id}/customers", json=payload, headers=tenant.headers)
        assert first.status_code == again.status_code == 202
        assert again.json()["accepted_at"] == first.json()["accepted_at"]
        assert again.json()["duplicate"] is True
        body = await settle(app, client, tenant, dataset_id)
        assert body["kinds"]["customers"]["rows_stored"] == 2
        assert body["kinds"]["customers"]["batches_accepted"] == 1

    async def test_batch_after_final_is_409(self, client, tenant):
        dataset_id = await new_dataset(client, tenant)
        url = f"/v1/datasets/{dataset_id}/customers"
        await client.post(url, json=batch([make_customer("C1")], final=True), headers=tenant.headers)
        late = await client.post(url, json=batch([make_customer("C2")]), headers=tenant.headers)
        assert late.status_code == 409
        assert "final" in late.json()["detail"]

    async def test_invalid_dataset_report_names_offenders(self, app, client, tenant):
        dataset_id = await new_dataset(client, tenant)
        history = small_history()
        history["orders"].append(make_order("O-orphan", "C-unknown", status="blocked"))
        history["orders"].append(make_order("O1", "C1", status="billed"))  # duplicate id
        history["orders"].append(make_order("O-future", "C1", ordered_at="2999-01-01T00:00:00"))
        history["orders"].append(make_order("O-nostatus", "C1", status=None))
        await upload_all(client, tenant, dataset_id, history)
        body = await settle(app, client, tenant, dataset_id)
        assert body["status"] == "invalid"
        problems = {p["code"]: p for p in body["report"]["problems"]}
        assert problems["unknown_customer_in_orders"]["examples"] == ["O-orphan"]
        assert problems["duplicate_order_id"]["examples"] == ["O1"]
        assert problems["future_ordered_at"]["examples"] == ["O-future"]
        assert problems["order_without_status"]["examples"] == ["O-nostatus"]

    async def test_too_few_outcomes(self, app, client, tenant):
        dataset_id = await new_dataset(client, tenant)
        history = small_history(orders_per_outcome=2)
        await upload_all(client, tenant, dataset_id, history)
        body = await settle(app, client, tenant, dataset_id)
        codes = {p["code"] for p in body["report"]["problems"]}
        assert {"too_few_billed_orders", "too_few_blocked_orders"} <= codes

    async def test_list_is_own_and_paginated(self, client, tenant, other_tenant):
        ids = [await new_dataset(client, tenant, name=f"d{i}") for i in range(3)]
        await new_dataset(client, other_tenant)
        page = (await client.get("/v1/datasets?limit=2", headers=tenant.headers)).json()
        assert len(page["items"]) == 2 and page["next_cursor"]
        rest = (await client.get(f"/v1/datasets?limit=2&cursor={page['next_cursor']}", headers=tenant.headers)).json()
        assert {d["id"] for d in page["items"] + rest["items"]} == set(ids)


class TestIsolation:
    @pytest.mark.parametrize("path", ["", "/customers", "/orders", "/credit-limits", "/serasa-reports"])
    async def test_other_company_dataset_is_404(self, client, tenant, other_tenant, path):
        dataset_id = await new_dataset(client, tenant)
        if path:
            response = await client.post(f"/v1/datasets/{dataset_id}{path}", json=batch([make_customer()]),
                                         headers=other_tenant.headers)
        else:
            response = await client.get(f"/v1/datasets/{dataset_id}", headers=other_tenant.headers)
        missing = await client.get("/v1/datasets/does-not-exist", headers=other_tenant.headers)
        assert response.status_code == missing.status_code == 404
        assert response.json()["detail"].replace(dataset_id, "X") == missing.json()["detail"].replace(
            "does-not-exist", "X")


class TestOpenApi:
    async def test_batch_bodies_documented(self, client):
        spec = (await client.get("/openapi.json")).json()
        body = spec["paths"]["/v1/datasets/{dataset_id}/orders"]["post"]["requestBody"]
        ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        schema = spec["components"]["schemas"][ref]
        assert schema["properties"]["items"]["maxItems"] == 500
        assert "OrderIn" in spec["components"]["schemas"]
