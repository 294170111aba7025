"""One test per structural rule; each error names the item index and the field."""

from __future__ import annotations

import pytest

from tests.factories import batch, make_credit_limit, make_customer, make_order, make_serasa_report

CASES = [
    # (path, valid item factory, overrides, field that must be named)
    ("orders", make_order, {"amount": True}, "amount"),
    ("orders", make_order, {"amount": "12.50"}, "amount"),
    ("orders", make_order, {"amount": -1.0}, "amount"),
    ("orders", make_order, {"amount": 10.123}, "amount"),
    ("orders", make_order, {"amount": 1e12}, "amount"),
    ("orders", make_order, {"payment_terms_days": 30.5}, "payment_terms_days"),
    ("orders", make_order, {"ordered_at": "yesterday"}, "ordered_at"),
    ("orders", make_order, {"ordered_at": 1700000000}, "ordered_at"),
    ("orders", make_order, {"status": "approved"}, "status"),
    ("orders", make_order, {"discount": 5}, "discount"),
    ("customers", make_customer, {"document": "11.222.333/0001-00"}, "document"),
    ("customers", make_customer, {"document": "123.456.789-00"}, "document"),
    ("customers", make_customer, {"simples_nacional": "yes"}, "simples_nacional"),
    ("customers", make_customer, {"mei": 1}, "mei"),
    ("customers", make_customer, {"state": "XX"}, "state"),
    ("customers", make_customer, {"name": "Comercial\x00Ltda"}, "name"),
    ("customers", make_customer, {"customer_id": "C\n1"}, "customer_id"),
    ("customers", make_customer, {"customer_since": "2023-02-30"}, "customer_since"),
    ("credit-limits", make_credit_limit, {"limit_amount": None}, "limit_amount"),
    ("credit-limits", make_credit_limit, {"valid_from": 20230101}, "valid_from"),
    ("serasa-reports", make_serasa_report, {"paid_on_time": 100.5}, "paid_on_time"),
    ("serasa-reports", make_serasa_report, {"suppliers_inactive": -0.1}, "suppliers_inactive"),
    ("serasa-reports", make_serasa_report, {"pefin_count": True}, "pefin_count"),
    ("serasa-reports", make_serasa_report, {"score": 1200}, "score"),
]


async def new_dataset(client, tenant) -> str:
    return (await client.post("/v1/datasets", json={}, headers=tenant.headers)).json()["id"]


@pytest.mark.parametrize(("path", "factory", "overrides", "field"), CASES,
                         ids=[f"{c[0]}-{c[3]}-{i}" for i, c in enumerate(CASES)])
async def test_rule_names_item_and_field(client, tenant, path, factory, overrides, field):
    dataset_id = await new_dataset(client, tenant)
    items = [factory(), factory(), factory() | overrides]
    response = await client.post(f"/v1/datasets/{dataset_id}/{path}", json=batch(items), headers=tenant.headers)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(e["index"] == 2 and e["field"].split(".")[0] == field for e in errors), errors
    assert all(e["index"] == 2 for e in errors)
    assert "item 2" in response.json()["detail"]


async def test_missing_field_named(client, tenant):
    dataset_id = await new_dataset(client, tenant)
    item = make_order()
    del item["customer_id"]
    response = await client.post(f"/v1/datasets/{dataset_id}/orders", json=batch([item]), headers=tenant.headers)
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["index"], error["field"]) == (0, "customer_id")


async def test_every_error_listed_and_nothing_stored(app, client, tenant):
    dataset_id = await new_dataset(client, tenant)
    items = [make_order("O1", amount=-5.0), make_order("O2"), make_order("O3", status="x", amount="1")]
    response = await client.post(f"/v1/datasets/{dataset_id}/orders", json=batch(items), headers=tenant.headers)
    found = {(e["index"], e["field"]) for e in response.json()["errors"]}
    assert found == {(0, "amount"), (2, "status"), (2, "amount")}
    await app.state.runtime.batch_queue.drain()
    body = (await client.get(f"/v1/datasets/{dataset_id}", headers=tenant.headers)).json()
    assert body["kinds"]["orders"]["batches_accepted"] == 0
    events = (await client.get("/v1/audit-events?action=batch.refused", headers=tenant.headers)).json()["items"]
    assert events[0]["summary"] == {"kind": "orders", "errors": 3, "items_with_errors": 2}


@pytest.mark.parametrize("count", [0, 501])
async def test_item_count_bounds(client, tenant, count):
    dataset_id = await new_dataset(client, tenant)
    items = [make_customer(f"C{i}") for i in range(count)]
    response = await client.post(f"/v1/datasets/{dataset_id}/customers", json=batch(items), headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "items"


async def test_body_over_limit_is_413(client, tenant):
    dataset_id = await new_dataset(client, tenant)
    items = [make_customer(f"C{i}", name="x" * 200) for i in range(500)] * 20
    response = await client.post(f"/v1/datasets/{dataset_id}/customers", json=batch(items), headers=tenant.headers)
    assert response.status_code == 413


@pytest.mark.parametrize(("body", "field"), [
    ({"batch_id": "has spaces", "items": [make_customer()]}, "batch_id"),
    ({"items": [make_customer()]}, "batch_id"),
    ({"batch_id": "b", "items": [make_customer()], "final": "true"}, "final"),
    ({"batch_id": "b", "items": [make_customer()], "extra": 1}, "extra"),
])
async def test_envelope_rules(client, tenant, body, field):
    dataset_id = await new_dataset(client, tenant)
    response = await client.post(f"/v1/datasets/{dataset_id}/customers", json=body, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


async def test_malformed_json_is_422(client, tenant):
    dataset_id = await new_dataset(client, tenant)
    response = await client.post(f"/v1/datasets/{dataset_id}/customers", content=b'{"batch_id": "b", "items": [',
                                 headers=tenant.headers | {"content-type": "application/json"})
    assert response.status_code == 422
    assert "json" in response.json()["detail"].lower()


async def test_formatted_document_normalized_and_accepted(app, client, tenant):
    from sqlalchemy import select

    from app.db.records import customers

    dataset_id = await new_dataset(client, tenant)
    items = [make_customer("C1", document="11.222.333/0001-81"), make_customer("C2", document=" 529.982.247-25 ")]
    response = await client.post(f"/v1/datasets/{dataset_id}/customers", json=batch(items), headers=tenant.headers)
    assert response.status_code == 202, response.text
    await app.state.runtime.batch_queue.drain()
    async with app.state.runtime.sessions() as session:
        stored = dict((await session.execute(select(customers.c.customer_id, customers.c.document)
                                             .where(customers.c.dataset_id == dataset_id))).all())
    assert stored == {"C1": "11222333000181", "C2": "52998224725"}  # digits only, as validated
