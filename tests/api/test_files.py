"""Bulk files: CSV and Parquet bodies validated column-wise, stored exactly once, refused whole."""

from __future__ import annotations

import io

import polars as pl
import pytest
from sqlalchemy import func, select

from app.db.records import TABLES, data_columns
from tests.factories import make_credit_limit, make_customer, make_order, make_serasa_report, small_history

CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"
PATHS = {"customers": "customers", "credit_limits": "credit-limits", "serasa_reports": "serasa-reports",
         "orders": "orders"}


def csv_body(items: list[dict]) -> bytes:
    return pl.DataFrame(items, infer_schema_length=None).write_csv().encode()


def parquet_body(items: list[dict]) -> bytes:
    frame = pl.DataFrame(items, infer_schema_length=None)
    typed = frame.with_columns(pl.col(name).str.to_date() for name in ("customer_since", "valid_from", "queried_at")
                               if name in frame.columns)
    if "ordered_at" in typed.columns:
        typed = typed.with_columns(pl.col("ordered_at").str.to_datetime(time_unit="us"))
    buffer = io.BytesIO()
    typed.write_parquet(buffer)
    return buffer.getvalue()


async def new_dataset(client, tenant) -> str:
    return (await client.post("/v1/datasets", json={}, headers=tenant.headers)).json()["id"]


async def send(client, tenant, dataset_id, path, body, media=CSV, final=True):
    return await client.post(f"/v1/datasets/{dataset_id}/{path}/files", content=body,
                             params={"final": str(final).lower()}, headers=tenant.headers | {"content-type": media})


async def stored_rows(app, kind: str, dataset_id: str) -> list[tuple]:
    table = TABLES[kind]
    async with app.state.runtime.sessions() as session:
        result = await session.execute(select(*[table.c[n] for n in data_columns(kind)])
                                       .where(table.c.dataset_id == dataset_id).order_by(table.c.id))
        return [tuple(row) for row in result]


async def test_a_valid_file_of_each_kind_is_stored_exactly_and_the_dataset_validates(app, client, tenant):
    dataset_id = await new_dataset(client, tenant)
    history = small_history()
    for path, items in history.items():
        response = await send(client, tenant, dataset_id, path, csv_body(items))
        assert response.status_code == 201, response.text
        receipt = response.json()
        assert receipt["items"] == len(items) and receipt["final"] is True and receipt["batch_id"].startswith("file-")
    orders = await stored_rows(app, "orders", dataset_id)
    assert [(r[1], r[3], r[5]) for r in orders] == [(o["order_id"], o["amount"], o["status"])
                                                     for o in history["orders"]]
    body = await wait_status(client, tenant, dataset_id)
    assert body["status"] in ("valid", "training", "trained", "failed"), body  # a tiny set may fail training
    assert body["kinds"]["orders"]["rows_stored"] == len(history["orders"])


async def wait_status(client, tenant, dataset_id):
    import asyncio

    for _ in range(100):
        body = (await client.get(f"/v1/datasets/{dataset_id}", headers=tenant.headers)).json()
        if body["status"] not in ("receiving", "validating"):  # the completion check runs in the background
            return body
        await asyncio.sleep(0.05)
    return body


async def test_the_same_file_again_answers_the_same_receipt_and_stores_nothing(app, client, tenant):
    dataset_id = await new_dataset(client, tenant)
    body = csv_body([make_customer(f"C{i}") for i in range(30)])
    first = await send(client, tenant, dataset_id, "customers", body, final=False)
    again = await send(client, tenant, dataset_id, "customers", body, final=False)
    assert first.status_code == again.status_code == 201
    assert again.json()["duplicate"] is True and again.json()["batch_id"] == first.json()["batch_id"]
    assert len(await stored_rows(app, "customers", dataset_id)) == 30
    conflict = await send(client, tenant, dataset_id, "customers", body, final=True)  # same file, other flag
    assert conflict.status_code == 409


async def test_a_file_with_bad_lines_is_refused_with_lines_and_nothing_is_stored(app, client, tenant):
    dataset_id = await new_dataset(client, tenant)
    items = [make_order(f"O{i}") for i in range(10)]
    items[3]["amount"] = 10.123
    items[7]["ordered_at"] = "yesterday"
    items[7]["status"] = "approved"
    response = await send(client, tenant, dataset_id, "orders", csv_body(items))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors_total"] == 3
    assert [(e["line"], e["field"]) for e in problem["errors"]] == [(5, "amount"), (9, "ordered_at"), (9, "status")]
    assert await stored_rows(app, "orders", dataset_id) == []
    body = (await client.get(f"/v1/datasets/{dataset_id}", headers=tenant.headers)).json()
    assert body["kinds"]["orders"]["batches_accepted"] == 0
    events = (await client.get("/v1/audit-events?action=batch.refused", headers=tenant.headers)).json()["items"]
    assert events[0]["summary"]["errors"] == 3 and events[0]["summary"]["format"] == "csv"


async def test_only_the_first_hundred_errors_are_listed_with_the_total(client, tenant):
    dataset_id = await new_dataset(client, tenant)
    items = [make_credit_limit(f"C{i}", limit_amount=-1.0) for i in range(250)]
    problem = (await send(client, tenant, dataset_id, "credit-limits", csv_body(items))).json()
    assert problem["errors_total"] == 250 and len(problem["errors"]) == 100
    assert [e["line"] for e in problem["errors"]] == list(range(2, 102))


@pytest.mark.parametrize(("body", "line", "fragment"), [
    (b"customer_id,limit_amount,valid_from,discount\nC1,10.00,2020-01-01,5\n", 1, "Extra inputs"),
    (b"customer_id,valid_from\nC1,2020-01-01\n", 1, "missing"),
    (b"customer_id,limit_amount,valid_from\nC1,10.00,2020-01-01\nC2,10.00\n", 3, "required"),  # a short line
    (b"customer_id,limit_amount,valid_from\nC1,10.00,2020-01-01,x\nC2,10.00,2020-01-01\n", 2, "fields"),
    (b"customer_id,limit_amount,valid_from\nC1,10.00,2020-01-01\n\"C2\nX\",10.00,2020-01-01\n", 3, "CSV"),
    (b"customer_id,limit_amount,valid_from\nC\xff1,10.00,2020-01-01\n", 2, "UTF-8"),
])
async def test_malformed_files_name_the_line(client, tenant, body, line, fragment):
    dataset_id = await new_dataset(client, tenant)
    response = await send(client, tenant, dataset_id, "credit-limits", body)
    assert response.status_code == 422, response.text
    first = response.json()["errors"][0]
    assert first["line"] == line and fragment.lower() in first["message"].lower(), first


async def test_csv_and_parquet_give_identical_rows(app, client, tenant):
    history = {
        "customers": [make_customer(f"C{i}", document=doc) for i, doc in
                      enumerate(["11.222.333/0001-81", "529.982.247-25", "12abc34501de35"])],
        "credit_limits": [make_credit_limit("C0", limit_amount=1234.56), make_credit_limit("C1", limit_amount=0.1)],
        "serasa_reports": [make_serasa_report("C0"), make_serasa_report("C1", score=None)],
        "orders": [make_order("O1", ordered_at="2023-02-01T10:30:00.250000", amount=99.99),
                   make_order("O2", ordered_at="2023-02-02T23:59:59", status=None)],
    }
    rows = {}
    for media, encode in ((CSV, csv_body), (PARQUET, parquet_body)):
        dataset_id = await new_dataset(client, tenant)
        for kind, items in history.items():
            response = await send(client, tenant, dataset_id, PATHS[kind], encode(items), media=media, final=False)
            assert response.status_code == 201, response.text
        rows[media] = {kind: await stored_rows(app, kind, dataset_id) for kind in history}
    assert rows[CSV] == rows[PARQUET]
    assert rows[CSV]["customers"][2][1] == "12ABC34501DE35"


async def test_a_parquet_column_of_the_wrong_type_is_refused(client, tenant):
    dataset_id = await new_dataset(client, tenant)
    frame = pl.DataFrame({"customer_id": ["C1"], "limit_amount": ["10.00"], "valid_from": [20200101]})
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    response = await send(client, tenant, dataset_id, "credit-limits", buffer.getvalue(), media=PARQUET)
    assert response.status_code == 422
    assert [(e["line"], e["field"]) for e in response.json()["errors"]] == [(1, "valid_from")]


async def test_other_media_types_and_empty_bodies(client, tenant):
    dataset_id = await new_dataset(client, tenant)
    assert (await send(client, tenant, dataset_id, "orders", b"{}", media="application/json")).status_code == 415
    assert (await send(client, tenant, dataset_id, "orders", b"")).status_code == 422
    assert (await send(client, tenant, dataset_id, "orders", b"not parquet", media=PARQUET)).status_code == 422
    assert (await send(client, tenant, dataset_id, "invoices", b"a\n1\n")).status_code == 422


async def test_files_have_their_own_size_limit(client, tenant, settings):
    dataset_id = await new_dataset(client, tenant)
    body = csv_body([make_customer(f"C{i}", name="x" * 190) for i in range(12_000)])
    assert len(body) > settings.max_body_bytes
    response = await send(client, tenant, dataset_id, "customers", body)
    assert response.status_code == 201, response.text


async def test_rows_count_once_per_file(app, client, tenant):
    dataset_id = await new_dataset(client, tenant)
    await send(client, tenant, dataset_id, "customers", csv_body([make_customer("A")]), final=False)
    await send(client, tenant, dataset_id, "customers", csv_body([make_customer("B")]), final=False)
    table = TABLES["customers"]
    async with app.state.runtime.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(table).where(table.c.dataset_id == dataset_id))
    assert count == 2


async def test_the_client_streams_a_file_from_disk(app, tmp_path):
    import uuid

    import httpx

    from app.client import CreditGateClient

    path = tmp_path / "customers.parquet"
    pl.DataFrame([make_customer(f"C{i}") for i in range(20)]).with_columns(
        pl.col("customer_since").str.to_date()).write_parquet(path)
    async with CreditGateClient("http://test", transport=httpx.ASGITransport(app=app)) as api:
        await api.register("Cliente Arquivo Ltda", f"file-{uuid.uuid4().hex[:8]}@example.com")
        dataset = await api.create_dataset("files")
        receipt = await api.upload_file(dataset["id"], "customers", path, final=False)
        again = await api.upload_file(dataset["id"], "customers", path, final=False)
    assert receipt["items"] == 20 and again["duplicate"] is True and again["batch_id"] == receipt["batch_id"]
    with pytest.raises(ValueError):
        await api.upload_file(dataset["id"], "customers", tmp_path / "customers.xlsx")
