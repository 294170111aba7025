"""In-process queues, for a single process without a broker.

Batches: staged in the database (their receipt) before the 202; a background task stores them.
After a crash the staged batches are simply still there.

Jobs: a fixed number of runner tasks take jobs company by company in turn (round robin), so one
company's burst of trainings never starves another's. A crash leaves the jobs' rows queued or
running in the database, and they are submitted again at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.datasets import DatasetBatch
from app.db.engine import after_commit
from app.db.errors import TRANSIENT
from app.kit import tasks
from app.metrics import QUEUE_BACKLOG
from app.services.batch_sink import BatchSink
from app.services.ingestion import BatchEnvelope
from app.services.jobs import JobHandler, JobRef

logger = logging.getLogger("app.transport")
POLL_SECONDS = 2.0


class InProcessBatchQueue:
    def __init__(self, sink: BatchSink, per_commit: int) -> None:
        self.sink = sink
        self.per_commit = per_commit
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._staged = 0  # staged by this process and not stored yet (batches left by a crash: once seen)
        self._backlog = QUEUE_BACKLOG.labels("batches")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inprocess-batch-consumer")

    async def stop(self) -> None:
        await tasks.cancel(self._task)
        self._task = None

    async def submit(self, session: AsyncSession, receipt: DatasetBatch, envelope: BatchEnvelope) -> None:
        receipt.payload = envelope.payload.decode()
        after_commit(session, self._notify)

    async def _notify(self) -> None:
        self._staged += 1
        self._backlog.set(self._staged)
        self._wake.set()

    async def drain(self) -> int:
        """Store every staged batch now; returns how many were handled (tests and tools)."""
        handled = 0
        while batch := await self.sink.staged(self.per_commit):
            self._staged = max(self._staged, handled + len(batch))
            await self.sink.store(batch)
            handled += len(batch)
            self._backlog.set(max(0, self._staged - handled))
        self._staged = 0
        self._backlog.set(0)
        return handled

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


class InProcessJobQueue:
    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._pending: OrderedDict[str, deque[JobRef]] = OrderedDict()  # company -> its jobs, in turn order
        self._queued: set[str] = set()  # ids in `_pending`: a job submitted twice waits once
        self._running = 0
        self._changed = asyncio.Condition()
        self._workers: list[asyncio.Task] = []
        self._handler: JobHandler | None = None
        self._backlog = QUEUE_BACKLOG.labels("jobs")

    async def start(self, handler: JobHandler) -> None:
        self._handler = handler
        self._workers = [asyncio.create_task(self._work(), name=f"job-runner-{n}") for n in range(self.concurrency)]

    async def stop(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    async def submit(self, job: JobRef) -> None:
        async with self._changed:
            if job.id in self._queued:
                return
            self._queued.add(job.id)
            self._pending.setdefault(job.company_id, deque()).append(job)
            self._backlog.set(len(self._queued))
            self._changed.notify_all()

    async def resume(self, queued: Sequence[JobRef], running: Sequence[JobRef]) -> None:
        for job in [*running, *queued]:  # nothing else runs them: both kinds are ours to run again
            await self.submit(job)

    async def wait_idle(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: not self._pending and not self._running)

    async def _work(self) -> None:
        while True:
            job = await self._next()
            try:
                await self._handler(job)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("job failed unexpectedly", extra={"job_id": job.id, "kind": job.kind})
            finally:
                async with self._changed:
                    self._running -= 1
                    self._changed.notify_all()

    async def _next(self) -> JobRef:
        """The first job of the company whose turn it is; that company goes to the back of the line."""
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self._pending))
            company_id, jobs = next(iter(self._pending.items()))
            job = jobs.popleft()
            self._queued.discard(job.id)
            self._backlog.set(len(self._queued))
            del self._pending[company_id]
            if jobs:
                self._pending[company_id] = jobs
            self._running += 1
            return job
