"""The same outcomes sent by several clients at the same instant: every answer is a success, each
(order id, recorded_at) is stored once, each decision keeps one current outcome, and the receipts'
stored counts add up to the rows - on SQLite and PostgreSQL, through the ASGI app."""

from __future__ import annotations

import asyncio

import numpy as np
from sqlalchemy import func, select

from app.db.outcomes import Outcome
from tests.conftest import register_company
from tests.services.test_monitoring import decide, decisions, make_version, reference

COPIES = 6


async def test_concurrent_identical_batches_store_each_outcome_once(app, client):
    rng = np.random.default_rng(8)
    tenant = await register_company(client)
    model = await make_version(app, tenant.company_id, reference(rng))
    rows = decisions(tenant.company_id, model, rng, 120, 0.0)
    await decide(app, rows)
    items = [{"order_id": r["order_id"], "status": "blocked" if i % 2 else "billed",
              "recorded_at": "2026-02-01T00:00:00Z"} for i, r in enumerate(rows)]
    # a later fact about some orders, and an item twice in the batch
    items += [{"order_id": r["order_id"], "status": "blocked", "recorded_at": "2026-03-01T00:00:00Z"}
              for r in rows[:30]]
    items += [items[0], {"order_id": "NEVER-DECIDED", "status": "billed", "recorded_at": "2026-02-01T00:00:00Z"}]
    keys = {(i["order_id"], i["recorded_at"]) for i in items if i["order_id"] != "NEVER-DECIDED"}

    for round_ in range(2):  # at once on an empty table, then at once again over stored rows
        batch = [i if i["order_id"] == "NEVER-DECIDED" else i | {"days_late": round_} for i in items]
        responses = await asyncio.gather(*[client.post("/v1/outcomes", json={"items": batch}, headers=tenant.headers)
                                           for _ in range(COPIES)])
        assert [r.status_code for r in responses] == [200] * COPIES, [r.text for r in responses]
        receipts = [r.json() for r in responses]
        assert all(r["accepted"] == len(items) - 1 and r["unmatched"] == [{"index": len(items) - 1,
                                                                            "order_id": "NEVER-DECIDED"}]
                   for r in receipts)
        stored = sum(r["accepted"] - r["duplicates"] for r in receipts)
        assert stored == (len(keys) if round_ == 0 else 0)  # the duplicates are counted as such
        events = (await client.get("/v1/audit-events", headers=tenant.headers,
                                   params={"action": "outcomes.recorded", "limit": COPIES})).json()["items"]
        assert sum(e["summary"]["stored"] for e in events) == stored

    async with app.state.runtime.sessions() as session:
        per_key = (await session.execute(
            select(Outcome.order_id, Outcome.recorded_at, func.count()).where(Outcome.company_id == tenant.company_id)
            .group_by(Outcome.order_id, Outcome.recorded_at))).all()
        current = (await session.execute(
            select(Outcome.decision_id, func.count()).where(Outcome.company_id == tenant.company_id,
                                                            Outcome.current.is_(True))
            .group_by(Outcome.decision_id))).all()
    assert len(per_key) == len(keys) and {n for *_, n in per_key} == {1}
    assert len(current) == len(rows) and {n for _, n in current} == {1}  # one current outcome per decision
    async with app.state.runtime.sessions() as session:
        latest = dict((await session.execute(
            select(Outcome.order_id, Outcome.recorded_at).where(Outcome.company_id == tenant.company_id,
                                                                Outcome.current.is_(True)))).all())
    assert {o for o, at in latest.items() if at.month == 3} == {r["order_id"] for r in rows[:30]}  # the later fact


async def test_the_portable_insert_skips_what_is_stored(app, client):
    """SQL Server's path (no ON CONFLICT): a row per savepoint, a unique violation skipped - run here
    on SQLite and PostgreSQL, since both raise the same IntegrityError."""
    from app.db import outcomes as outcomes_db

    rng = np.random.default_rng(2)
    tenant = await register_company(client)
    model = await make_version(app, tenant.company_id, reference(rng))
    rows = decisions(tenant.company_id, model, rng, 3, 0.0)
    await decide(app, rows)
    item = {"order_id": rows[0]["order_id"], "status": "billed", "recorded_at": "2026-02-01T00:00:00Z"}
    assert (await client.post("/v1/outcomes", json={"items": [item]}, headers=tenant.headers)).status_code == 200
    async with app.state.runtime.sessions() as session:
        stored = (await session.scalars(select(Outcome).where(Outcome.company_id == tenant.company_id))).one()
    columns = [c.name for c in Outcome.__table__.columns]
    again = {c: getattr(stored, c) for c in columns} | {"id": "dup-of-stored"}
    new = again | {"id": "a-new-one", "order_id": rows[1]["order_id"], "decision_id": rows[1]["id"]}
    async with app.state.runtime.transaction() as session:
        assert await outcomes_db._insert_new_portably(session, [again, new]) == {"a-new-one"}
    async with app.state.runtime.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Outcome)
                                     .where(Outcome.company_id == tenant.company_id))
    assert count == 2
