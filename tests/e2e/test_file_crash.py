"""A bulk file is stored whole or not at all: the app is SIGKILLed while it copies a file's rows
(paused at a failpoint after two chunks went to the database), and nothing of the file is there;
the same file sent again is stored once."""

from __future__ import annotations

import asyncio
import os
import time

import httpx
import polars as pl
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import TEST_SECRET, register_company
from tests.factories import make_order
from tests.processes import AppProcess

FAILPOINT = "files.storing"


async def test_a_file_killed_mid_copy_leaves_nothing_and_is_stored_once_when_sent_again(database_url, tmp_path):
    marker = tmp_path / "failpoints.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITGATE_")} | {
        "CREDITGATE_ENV": "test", "CREDITGATE_JWT_SECRET": TEST_SECRET, "CREDITGATE_DATABASE_URL": database_url,
        "CREDITGATE_LOG_LEVEL": "WARNING", "CREDITGATE_DECISION_JOURNAL_DIR": "", "CREDITGATE_AUTO_TRAIN": "false",
        "CREDITGATE_FILE_CHUNK_BYTES": "4096", "CREDITGATE_FAILPOINTS": f"{FAILPOINT}=60",
        "CREDITGATE_FAILPOINTS_MARKER": str(marker), "CREDITGATE_RATE_LIMIT_REGISTRATIONS": ""}
    body = pl.DataFrame([make_order(f"O{n:05d}", f"C{n % 40}", amount=10.0 + n) for n in range(3_000)]).write_csv()
    app = AppProcess(env, tmp_path / "app.log")
    try:
        await app.start()
        async with httpx.AsyncClient(base_url=app.url, timeout=30) as http:
            tenant = await register_company(http)
            dataset_id = (await http.post("/v1/datasets", json={}, headers=tenant.headers)).json()["id"]
            url, headers = f"/v1/datasets/{dataset_id}/orders/files", tenant.headers | {"content-type": "text/csv"}
            sending = asyncio.create_task(http.post(url, content=body.encode(), headers=headers))
            deadline = time.monotonic() + 30
            while not (marker.exists() and FAILPOINT in marker.read_text()):
                assert time.monotonic() < deadline, "the upload never reached the failpoint"
                await asyncio.sleep(0.02)
            assert await rows(database_url, dataset_id) == (0, 0)  # two chunks sent, nothing committed
            app.kill()
            try:
                await sending
            except httpx.TransportError:
                pass
            app.env = {k: v for k, v in env.items() if not k.startswith("CREDITGATE_FAILPOINTS")}
            await app.start()
            assert await rows(database_url, dataset_id) == (0, 0)  # neither rows nor a receipt
            first = await http.post(url, content=body.encode(), headers=headers)
            again = await http.post(url, content=body.encode(), headers=headers)
    finally:
        app.stop()
    assert first.status_code == again.status_code == 201, first.text
    assert again.json()["duplicate"] is True
    assert await rows(database_url, dataset_id) == (3_000, 1)


async def rows(database_url: str, dataset_id: str) -> tuple[int, int]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as db:
            stored = await db.scalar(text("SELECT count(*) FROM orders WHERE dataset_id = :d"), {"d": dataset_id})
            receipts = await db.scalar(text("SELECT count(*) FROM dataset_batches WHERE dataset_id = :d"),
                                       {"d": dataset_id})
    finally:
        await engine.dispose()
    return stored, receipts
