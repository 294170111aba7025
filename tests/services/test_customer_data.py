"""Customer snapshots: cached per data version, read once when many decisions ask at the same time."""

from __future__ import annotations

import asyncio

from app.ml.live import is_empty
from app.services import customer_data
from app.services.customer_data import CustomerDataCache


async def test_concurrent_misses_read_the_database_once(app, tenant, monkeypatch):
    calls = []
    real_load = customer_data.load

    async def counting_load(session, company_id, customer_ids):
        calls.append(list(customer_ids))
        return await real_load(session, company_id, customer_ids)

    monkeypatch.setattr(customer_data, "load", counting_load)
    cache = CustomerDataCache(app.state.runtime.sessions)

    async def ask():
        return await cache.get(tenant.company_id, 0, ["C-NEW"])

    results = await asyncio.gather(*(ask() for _ in range(8)))
    assert calls == [["C-NEW"]]
    assert all(r["C-NEW"] is results[0]["C-NEW"] for r in results)
    assert is_empty(results[0]["C-NEW"])

    await cache.get(tenant.company_id, 0, ["C-NEW"])  # cached
    await cache.get(tenant.company_id, 1, ["C-NEW"])  # a new data version reads again
    assert len(calls) == 2
