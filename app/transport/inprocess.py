"""In-process transport: the batch is staged in the database before the 202, a background task
stores it. After a crash the staged batches are simply still there."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import datasets as datasets_db
from app.db.datasets import DatasetBatch
from app.db.engine import after_commit
from app.services.batch_sink import TRANSIENT, BatchSink
from app.transport.base import BatchEnvelope

logger = logging.getLogger("app.transport")
POLL_SECONDS = 2.0


class InProcessQueue:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], sink: BatchSink, per_commit: int) -> None:
        self.sessions = sessions
        self.sink = sink
        self.per_commit = per_commit
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inprocess-batch-consumer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def submit(self, session: AsyncSession, receipt: DatasetBatch, envelope: BatchEnvelope) -> None:
        receipt.payload = envelope.payload.decode()
        after_commit(session, self._notify)

    async def _notify(self) -> None:
        self._wake.set()

    async def drain(self) -> int:
        """Store every staged batch now; returns how many were handled (tests and tools)."""
        handled = 0
        while batch := await self._next_group():
            await self.sink.store(batch)
            handled += len(batch)
        return handled

    async def _next_group(self) -> list[BatchEnvelope]:
        async with self.sessions() as session:
            pending = await datasets_db.pending_payload_batches(session, self.per_commit)
            return [BatchEnvelope.from_receipt(r) for r in pending]

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.drain()
            except TRANSIENT as exc:
                logger.warning("database unavailable, retrying", extra={"error": str(exc)})
            except Exception:
                logger.exception("in-process consumer error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
