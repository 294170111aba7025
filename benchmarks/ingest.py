"""Ingest: rows/s from HTTP through the queue into the database, 1M rows, in-process on SQLite
and Kafka on PostgreSQL; baselines: raw `executemany` (SQLite) and `COPY` (PostgreSQL) of the
same rows, measured in the same run."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import polars as pl

from app.client import CreditGateClient
from app.db.migrations import upgrade
from app.db.records import data_columns
from app.demo import generate
from app.transport.local_broker import local_broker
from benchmarks.common import save, server, table

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def dataset_for(rows: int):
    orders = int(rows * 0.85)
    return generate(customers=max(rows // 100, 50), orders=orders, seed=17)


def total_rows(data) -> int:
    return sum(frame.height for frame in data.frames().values())


async def through_http(url: str, data, concurrency: int) -> float:
    async with CreditGateClient(url, timeout=600) as api:
        await api.register("Ingest Bench", f"ingest-{uuid.uuid4().hex[:8]}@example.com")
        dataset = await api.create_dataset("ingest")
        started = time.perf_counter()
        await api.upload_frames(dataset["id"], data.frames(), concurrency=concurrency)
        expected = {kind: frame.height for kind, frame in data.frames().items()}
        while True:
            body = await api.dataset(dataset["id"])
            if all(body["kinds"][k]["rows_stored"] == n for k, n in expected.items()):
                return time.perf_counter() - started
            await asyncio.sleep(0.05)


def tuples(data, kind: str, text_dates: bool) -> list[tuple]:
    frame = data.frames()[kind].select(data_columns(kind))
    if text_dates:
        frame = frame.with_columns(pl.col(n).cast(pl.String) for n, t in frame.schema.items() if t.is_temporal())
    return [("bench", "bench", *row) for row in frame.iter_rows()]


def sqlite_executemany(db: Path, data) -> float:
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=OFF")
    prepared = {kind: tuples(data, kind, True) for kind in data.frames()}
    started = time.perf_counter()
    for kind, rows in prepared.items():
        columns = ["dataset_id", "company_id", *data_columns(kind)]
        sql = f"INSERT INTO {kind} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        for start in range(0, len(rows), 4000):
            connection.executemany(sql, rows[start:start + 4000])
            connection.commit()
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


async def pg_copy(url: str, data) -> float:
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    await connection.execute("SET session_replication_role = replica")  # no FK checks, like a bulk load
    prepared = {kind: tuples(data, kind, False) for kind in data.frames()}
    started = time.perf_counter()
    for kind, rows in prepared.items():
        columns = ["dataset_id", "company_id", *data_columns(kind)]
        for start in range(0, len(rows), 4000):
            await connection.copy_records_to_table(kind, records=rows[start:start + 4000], columns=columns)
    elapsed = time.perf_counter() - started
    await connection.close()
    return elapsed


async def pg_database() -> tuple[str, str]:
    name = f"creditgate_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return name, f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def drop_pg(name: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


def run_sqlite(data, concurrency: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'ingest.db'}"
        upgrade(url)
        env = {"CREDITGATE_DATABASE_URL": url, "CREDITGATE_AUTO_TRAIN": "false",
               "CREDITGATE_DECISION_JOURNAL_DIR": f"{tmp}/journal"}
        with server("app.main:create_app", env) as (base, _):
            http_s = asyncio.run(through_http(base, data, concurrency))
        baseline_db = Path(tmp) / "baseline.db"
        upgrade(f"sqlite+aiosqlite:///{baseline_db}")
        base_s = sqlite_executemany(baseline_db, data)
    return {"mode": "in-process queue, SQLite", "http_s": http_s, "baseline": "executemany", "baseline_s": base_s}


def run_kafka_pg(data, concurrency: int) -> dict:
    async def main() -> dict:
        name, url = await pg_database()
        base_name, base_url = await pg_database()
        try:
            await asyncio.to_thread(upgrade, url)
            await asyncio.to_thread(upgrade, base_url)
            async with local_broker() as bootstrap:
                env = {"CREDITGATE_DATABASE_URL": url, "CREDITGATE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                       "CREDITGATE_AUTO_TRAIN": "false", "CREDITGATE_DECISION_JOURNAL_DIR": "",
                       "CREDITGATE_KAFKA_TOPIC_PREFIX": f"bench{uuid.uuid4().hex[:6]}"}
                with server("app.main:create_app", env) as (base, _):
                    http_s = await through_http(base, data, concurrency)
            base_s = await pg_copy(base_url, data)
        finally:
            await drop_pg(name)
            await drop_pg(base_name)
        return {"mode": "Kafka, PostgreSQL", "http_s": http_s, "baseline": "COPY", "baseline_s": base_s}

    return asyncio.run(main())


def run(quick: bool = False) -> None:
    target = 50_000 if quick else 1_000_000
    data = dataset_for(target)
    rows = total_rows(data)
    runs = [run_sqlite(data, 8), run_kafka_pg(data, 8)]
    for r in runs:
        r |= {"rows": rows, "rows_per_s": round(rows / r["http_s"]),
              "baseline_rows_per_s": round(rows / r["baseline_s"])}
        r["share_of_baseline"] = round(r["rows_per_s"] / r["baseline_rows_per_s"], 3)
    table("ingest", ["mode", "rows", "HTTP->queue->DB rows/s", "baseline", "baseline rows/s", "share"],
          [[r["mode"], r["rows"], r["rows_per_s"], r["baseline"], r["baseline_rows_per_s"],
            f"{r['share_of_baseline']:.0%}"] for r in runs])
    print("goal: at least half of raw COPY (PostgreSQL)")
    print(f"written {save('ingest', {'runs': runs})}")
