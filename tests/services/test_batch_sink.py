"""The in-process consumer never blocks on a batch the database refuses: it dead-letters it."""

from __future__ import annotations

import orjson
from prometheus_client import REGISTRY

from app.db.datasets import DatasetBatch
from app.db.errors import is_permanent, is_transient
from tests.api.test_datasets import settle
from tests.factories import batch, make_order


def dead_lettered(kind: str) -> float:
    return REGISTRY.get_sample_value("creditgate_batches_dead_lettered_total", {"kind": kind}) or 0.0


async def test_refused_batch_is_dead_lettered_and_the_next_one_stored(app, client, tenant):
    counted = dead_lettered("orders")
    dataset_id = (await client.post("/v1/datasets", json={}, headers=tenant.headers)).json()["id"]
    # A staged batch the consumer cannot store (the API refuses a text amount, so it is staged
    # directly, as a bug, an older release or a forged broker record might have done).
    poisoned = [make_order("O-text", amount="12.50")]
    async with app.state.runtime.sessions() as session:
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
    assert dead_lettered("orders") == counted + 1  # /metrics: creditgate_batches_dead_lettered_total


async def test_database_errors_are_classified(app):
    """What the database itself refuses is permanent (dead letter); a lost connection is transient."""
    from sqlalchemy import text

    async with app.state.runtime.sessions() as session:
        try:
            await session.execute(text("SELECT CAST('not a number' AS INTEGER) + CAST('x' AS INTEGER)"
                                       if app.state.runtime.engine.dialect.name == "postgresql"
                                       else "INSERT INTO companies (id) VALUES (NULL)"))
        except Exception as exc:  # noqa: BLE001 - the real driver's error is what is classified
            refused = exc
        else:
            raise AssertionError("the database accepted invalid input")
    assert is_permanent(refused) and not is_transient(refused)
    assert is_transient(ConnectionResetError()) and not is_permanent(ConnectionResetError())


async def test_a_late_unreceipted_batch_never_changes_a_validated_dataset(app, client, tenant):
    """A batch the broker acknowledged but whose request failed (no receipt), delivered after the
    dataset was validated, is dead-lettered instead of adding rows to it."""
    from app.services.batch_sink import BatchSink
    from app.services.ingestion import BatchEnvelope
    from tests.api.test_datasets import upload_all
    from tests.factories import small_history

    dataset_id = (await client.post("/v1/datasets", json={}, headers=tenant.headers)).json()["id"]
    await upload_all(client, tenant, dataset_id, small_history())
    before = await settle(app, client, tenant, dataset_id)
    assert before["status"] != "receiving"
    late = BatchEnvelope(tenant.company_id, dataset_id, "orders", "late-1", 1, False,
                         orjson.dumps([make_order("O-late", "C1")]))
    dead = []

    async def on_dead(envelope, reason):
        dead.append(reason)

    await BatchSink(app.state.runtime.sessions, app.state.runtime.settings).store([late], on_dead=on_dead)
    after = (await client.get(f"/v1/datasets/{dataset_id}", headers=tenant.headers)).json()
    assert after["kinds"]["orders"]["rows_stored"] == before["kinds"]["orders"]["rows_stored"]
    assert "too late" in dead[0]
    assert after["dead_letters"][0]["batch_id"] == "late-1"


async def test_a_failing_completion_check_never_holds_storing_back(app, client, tenant, monkeypatch):
    from app.services import datasets as datasets_service
    from app.services.batch_sink import BatchSink
    from app.services.ingestion import BatchEnvelope

    async def broken(*args, **kwargs):
        raise ValueError("a bug in the completion check")

    monkeypatch.setattr(datasets_service, "check_completion", broken)
    dataset_id = (await client.post("/v1/datasets", json={}, headers=tenant.headers)).json()["id"]
    envelope = BatchEnvelope(tenant.company_id, dataset_id, "orders", "b-1", 1, False,
                             orjson.dumps([make_order("O-1", "C1")]))
    await BatchSink(app.state.runtime.sessions, app.state.runtime.settings).store([envelope])  # does not raise
    body = (await client.get(f"/v1/datasets/{dataset_id}", headers=tenant.headers)).json()
    assert body["kinds"]["orders"]["rows_stored"] == 1 and body["dead_letters"] == []
