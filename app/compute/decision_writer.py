"""The decision log's group commits in a process of their own (docs/decisions/0013).

A commit of 500 decisions costs the serving process ~20 ms of Python (SQLAlchemy turning rows
into parameters, the monitoring counts) on top of SQLite's own work: on the one thread that
holds the GIL, the thread that answers requests. `ProcessWriter` hands the records to one
spawned writer process instead, as the very bytes the journal holds (no pickling of dicts); the
writer (app/services/writer_process.py) decodes them, runs the same `insert_records` with its
own `Monitor` in one transaction, and answers which decisions it inserted and what each
supersedes. The serving process keeps the journal, the retries and the followers: a writer
killed mid-commit rolls back, the pool is replaced, and the log retries the same batch (ids
already stored are skipped).

One writer process per serving process; commits stay one at a time, in order.
"""

from __future__ import annotations

import asyncio
from typing import Any

from app.compute.process_pool import ProcessPoolCompute
from app.services.decision_log import LogRecord, adopt_inserted
from app.services.writer_process import write_encoded

ROLE = "decision writer"


class ProcessWriter:
    """`Writer` whose commits run in a spawned process (started on the first commit)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._process = ProcessPoolCompute(1, role=ROLE)

    async def insert(self, records: list[LogRecord]) -> list[dict[str, Any]]:
        payload = b"".join(record.encode() for record in records)
        return adopt_inserted(records, await self._process.run(write_encoded, self.database_url, payload))

    @property
    def pids(self) -> list[int]:
        return self._process.pids

    async def stop(self) -> None:
        """After the log's last commit: the writer exits, closing its connections."""
        await asyncio.to_thread(self._process.stop, True)
