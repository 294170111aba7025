"""The decision log's lookups use the index made for them, not a walk over a company's decisions."""

from __future__ import annotations

import asyncio

from sqlalchemy.dialects import sqlite

from app.db.decisions import orders_decisions
from app.db.engine import make_engine
from app.db.migrations import upgrade


async def test_the_orders_earlier_decisions_are_looked_up_by_order(tmp_path):
    """Finding what a batch's orders supersede looks each order up in (company_id, order_id,
    created_at); with an ORDER BY created_at SQLite chose the (company_id, created_at) index and read
    every decision of the company on each commit of the decision log."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'plans.db'}"
    await asyncio.to_thread(upgrade, url)
    query = orders_decisions("company-1", [f"PED-{n}" for n in range(500)])
    sql = str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            plan = " ".join(row[-1] for row in (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")).all())
    finally:
        await engine.dispose()
    assert "USING INDEX ix_decisions_company_id_order_id (company_id=? AND order_id=?)" in plan, plan
    assert "ix_decisions_company_id_created_at" not in plan, plan
