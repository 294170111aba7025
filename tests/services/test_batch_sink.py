"""The in-process consumer never blocks on a batch the database refuses: it dead-letters it."""

from __future__ import annotations

import orjson

from app.db.datasets import DatasetBatch
from app.services.batch_sink import is_permanent, is_transient
from tests.api.test_datasets import settle
from tests.factories import batch, make_order


async def test_refused_batch_is_dead_lettered_and_the_next_one_stored(app, client, tenant):
    dataset_id = (await client.post("/v1/datasets", json={}, headers=tenant.headers)).json()["id"]
    # A staged batch the consumer cannot store (the API refuses a text amount, so it is staged
    # directly, as a bug, an older release or a forged broker record might have done).
    poisoned = [make_order("O-text", amount="12.50")]
    async with app.state.sessions() as session:
        session.add(DatasetBatch(company_id=tenant.company_id, dataset_id=dataset_id, kind="orders",
                                 batch_id="poisoned", items=1, final=False,
                                 payload=orjson.dumps(poisoned).decode()))
        await session.commit()
    good = await client.post(f"/v1/datasets/{dataset_id}/orders", json=batch([make_order("O-ok")]),
                             headers=tenant.headers)
    assert good.status_code == 202
    body = await settle(app, client, tenant, dataset_id)
    orders = body["kinds"]["orders"]
    assert orders["rows_stored"] == 1 and orders["batches_failed"] == 1
    assert body["dead_letters"][0]["batch_id"] == "poisoned"
    assert "not valid" in body["dead_letters"][0]["reason"]


async def test_database_errors_are_classified(app):
    """What the database itself refuses is permanent (dead letter); a lost connection is transient."""
    from sqlalchemy import text

    async with app.state.sessions() as session:
        try:
            await session.execute(text("SELECT CAST('not a number' AS INTEGER) + CAST('x' AS INTEGER)"
                                       if app.state.engine.dialect.name == "postgresql"
                                       else "INSERT INTO companies (id) VALUES (NULL)"))
        except Exception as exc:  # noqa: BLE001 - the real driver's error is what is classified
            refused = exc
        else:
            raise AssertionError("the database accepted invalid input")
    assert is_permanent(refused) and not is_transient(refused)
    assert is_transient(ConnectionResetError()) and not is_permanent(ConnectionResetError())
