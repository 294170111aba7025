"""Ingest: rows/s from HTTP into the database, 1M rows: 500-item JSON batches through the queue
(in-process on SQLite, Kafka on PostgreSQL) and bulk files (CSV and Parquet, one per kind, on
PostgreSQL); baselines: raw `executemany` (SQLite) and `COPY` (PostgreSQL) of the same rows,
measured in the same run. The full run also uploads one 5M-row orders file and samples the
server's resident memory while it is stored."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
import threading
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

FILE_KINDS = ("customers", "credit_limits", "serasa_reports", "orders")

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
        try:
            await asyncio.to_thread(upgrade, url)
            async with local_broker() as bootstrap:
                env = {"CREDITGATE_DATABASE_URL": url, "CREDITGATE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                       "CREDITGATE_AUTO_TRAIN": "false", "CREDITGATE_DECISION_JOURNAL_DIR": "",
                       "CREDITGATE_KAFKA_TOPIC_PREFIX": f"bench{uuid.uuid4().hex[:6]}"}
                with server("app.main:create_app", env) as (base, _):
                    http_s = await through_http(base, data, concurrency)
        finally:
            await drop_pg(name)
        return {"mode": "Kafka, PostgreSQL", "http_s": http_s, "baseline": "COPY"}

    return asyncio.run(main())


def write_files(data, folder: Path, file_format: str) -> dict[str, Path]:
    paths = {}
    for kind in FILE_KINDS:
        paths[kind] = folder / f"{kind}.{file_format}"
        frame = data.frames()[kind]
        if file_format == "csv":
            frame.write_csv(paths[kind])
        else:
            frame.write_parquet(paths[kind])
    return paths


async def files_through_http(url: str, paths: dict[str, Path]) -> float:
    async with CreditGateClient(url, timeout=600) as api:
        await api.register("Files Bench", f"files-{uuid.uuid4().hex[:8]}@example.com")
        dataset = await api.create_dataset("files")
        started = time.perf_counter()
        for kind, path in paths.items():  # one after the other: each is one COPY
            await api.upload_file(dataset["id"], kind, path, final=False)
        return time.perf_counter() - started


def run_files_pg(data, file_format: str) -> dict:
    async def main() -> dict:
        name, url = await pg_database()
        try:
            await asyncio.to_thread(upgrade, url)
            with tempfile.TemporaryDirectory() as tmp:
                paths = write_files(data, Path(tmp), file_format)
                env = {"CREDITGATE_DATABASE_URL": url, "CREDITGATE_AUTO_TRAIN": "false",
                       "CREDITGATE_DECISION_JOURNAL_DIR": ""}
                with server("app.main:create_app", env) as (base, _):
                    http_s = await files_through_http(base, paths)
        finally:
            await drop_pg(name)
        return {"mode": f"{file_format} files, PostgreSQL", "http_s": http_s, "baseline": "COPY"}

    return asyncio.run(main())


def synthetic_orders(rows: int, path: Path) -> int:
    """A large orders file without the demo generator's cost (only storing is measured)."""
    import numpy as np

    rng = np.random.default_rng(5)
    start = np.datetime64("2019-01-01T00:00:00", "s")
    chunk = 1_000_000
    with path.open("wb") as out:
        for offset in range(0, rows, chunk):
            n = min(chunk, rows - offset)
            frame = pl.DataFrame({
                "order_id": [f"O{offset + i:09d}" for i in range(n)],
                "customer_id": [f"C{c:06d}" for c in rng.integers(0, 50_000, n)],
                "ordered_at": (start + rng.integers(0, 6 * 365 * 86400, n).astype("timedelta64[s]")).astype(
                    "datetime64[us]"),
                "amount": np.round(rng.uniform(10, 50_000, n), 2),
                "payment_terms_days": rng.integers(0, 120, n),
                "status": np.where(rng.random(n) < 0.2, "blocked", "billed"),
            })
            frame.write_csv(out, include_header=offset == 0)
    return path.stat().st_size


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and its children (Linux /proc)."""
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total = int(line.split()[1]) * 1024
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return total + sum(rss_bytes(int(child)) for child in children)


def run_file_rss(rows: int) -> dict:
    async def main() -> dict:
        name, url = await pg_database()
        try:
            await asyncio.to_thread(upgrade, url)
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "orders.csv"
                size = synthetic_orders(rows, path)
                env = {"CREDITGATE_DATABASE_URL": url, "CREDITGATE_AUTO_TRAIN": "false",
                       "CREDITGATE_DECISION_JOURNAL_DIR": "", "CREDITGATE_UPLOAD_DIR": tmp}
                with server("app.main:create_app", env) as (base, pid):
                    idle = rss_bytes(pid)
                    peak, stop = [idle], threading.Event()

                    def sample() -> None:
                        while not stop.is_set():
                            peak[0] = max(peak[0], rss_bytes(pid))
                            time.sleep(0.05)

                    sampler = threading.Thread(target=sample, daemon=True)
                    sampler.start()
                    async with CreditGateClient(base, timeout=1800) as api:
                        await api.register("RSS Bench", f"rss-{uuid.uuid4().hex[:8]}@example.com")
                        dataset = await api.create_dataset("rss")
                        started = time.perf_counter()
                        receipt = await api.upload_file(dataset["id"], "orders", path, final=False)
                        elapsed = time.perf_counter() - started
                    stop.set()
                    sampler.join()
        finally:
            await drop_pg(name)
        return {"rows": receipt["items"], "file_bytes": size, "seconds": round(elapsed, 1),
                "rows_per_s": round(rows / elapsed), "server_rss_idle_mb": round(idle / 2**20),
                "server_rss_peak_mb": round(peak[0] / 2**20)}

    return asyncio.run(main())


def run(quick: bool = False) -> None:
    target = 50_000 if quick else 1_000_000
    data = dataset_for(target)
    rows = total_rows(data)
    # The machine is shared: COPY is timed before and after the PostgreSQL runs, and each run is
    # compared with the mean of the two.
    copy_before = asyncio.run(copy_baseline(data))
    runs = [run_kafka_pg(data, 8), run_files_pg(data, "csv"), run_files_pg(data, "parquet")]
    copy_after = asyncio.run(copy_baseline(data))
    copy_s = (copy_before + copy_after) / 2
    runs.insert(0, run_sqlite(data, 8))
    for r in runs:
        r.setdefault("baseline_s", copy_s)
        if r["baseline"] == "COPY":
            r["copy_s_before_after"] = [round(copy_before, 2), round(copy_after, 2)]
    for r in runs:
        r |= {"rows": rows, "rows_per_s": round(rows / r["http_s"]),
              "baseline_rows_per_s": round(rows / r["baseline_s"])}
        r["share_of_baseline"] = round(r["rows_per_s"] / r["baseline_rows_per_s"], 3)
    table("ingest", ["mode", "rows", "HTTP->queue->DB rows/s", "baseline", "baseline rows/s", "share"],
          [[r["mode"], r["rows"], r["rows_per_s"], r["baseline"], r["baseline_rows_per_s"],
            f"{r['share_of_baseline']:.0%}"] for r in runs])
    print("goals: JSON batches at least half of raw COPY, files at least 0.8x (PostgreSQL)")
    memory = None if quick or os.environ.get("BENCH_SKIP_RSS") else run_file_rss(5_000_000)
    if memory:
        table("one orders file, PostgreSQL", list(memory), [list(memory.values())])
        print("goal: the server under 1 GB (1024 MB) while storing it")
    print(f"written {save('ingest', {'runs': runs, 'large_file': memory})}")


async def copy_baseline(data) -> float:
    base_name, base_url = await pg_database()
    try:
        await asyncio.to_thread(upgrade, base_url)
        return await pg_copy(base_url, data)
    finally:
        await drop_pg(base_name)
