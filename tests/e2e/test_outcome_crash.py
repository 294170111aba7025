"""An acknowledged outcome is committed: the app is SIGKILLed while outcomes stream in, and every
one it answered is in the database after the restart."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import select

from app.client import CreditGateClient
from app.db.engine import make_engine
from app.db.outcomes import Outcome
from app.demo import generate
from tests.processes import sqlite_app

pytestmark = pytest.mark.slow


async def stored_outcomes(url: str, company_id: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(select(Outcome.order_id).where(Outcome.company_id == company_id))
            return {order_id for (order_id,) in rows}
    finally:
        await engine.dispose()


async def test_acknowledged_outcomes_survive_a_kill(tmp_path):
    app = await sqlite_app(tmp_path, "outcomes")
    await app.start()
    try:
        async with CreditGateClient(app.url, timeout=60) as api:
            me = await api.register("Crash Desfecho Ltda", f"outcome-{uuid.uuid4().hex[:8]}@example.com")
            company_id = me["company"]["id"]
            dataset = await api.create_dataset("crash")
            await api.upload_frames(dataset["id"], generate(customers=120, orders=2000, seed=5).frames())
            done = await api.wait_for_dataset(dataset["id"], ("trained", "failed"), timeout=180)
            assert done["status"] == "trained"
            orders = [{"order": {"order_id": f"K{n}", "customer_id": "C000001", "amount": 1000.0 + n,
                                 "payment_terms_days": 28}} for n in range(400)]
            await api.decide_batch(orders[:200])
            await api.decide_batch(orders[200:])

            acknowledged: set[str] = set()
            headers = {"Authorization": api.http.headers["Authorization"]}

            async def send(http: httpx.AsyncClient, n: int) -> None:
                item = {"order_id": f"K{n}", "status": "billed" if n % 3 else "blocked",
                        "recorded_at": "2026-02-01T10:00:00Z"}
                try:
                    response = await http.post("/v1/outcomes", json={"items": [item]}, headers=headers)
                except httpx.TransportError:
                    return  # killed before an answer: may or may not be stored
                if response.status_code == 200 and response.json()["accepted"] == 1:
                    acknowledged.add(f"K{n}")

            async with httpx.AsyncClient(base_url=app.url, timeout=30) as http:
                async def stream() -> None:
                    for start in range(0, 400, 8):
                        await asyncio.gather(*(send(http, n) for n in range(start, start + 8)))

                task = asyncio.create_task(stream())
                while len(acknowledged) < 60:
                    await asyncio.sleep(0.005)
                app.kill()  # while requests are in flight
                await task
            assert 60 <= len(acknowledged) < 400
            await app.start()
            assert acknowledged <= await stored_outcomes(app.env["CREDITGATE_DATABASE_URL"], company_id)
            # and the restarted app still answers them as stored, once
            again = await api.request("POST", "/v1/outcomes", json={"items": [
                {"order_id": n, "status": "billed", "recorded_at": "2026-02-01T10:00:00Z"}
                for n in sorted(acknowledged)[:50]]})
            assert again["duplicates"] == 50
    finally:
        app.stop()
