"""Queued background jobs (trainings, evaluations): the ports they run through, and the
dispatcher that submits them after their commit, hands each to its kind's handler and resumes
what a crash interrupted.

Two ports, implemented outside the services:
- `JobQueue` carries job references to whoever runs them: in-process tasks, or a Kafka topic read
  by the replicas of one consumer group (app/transport);
- `Compute` runs CPU-heavy functions away from the event loop: a process pool, or later a
  cluster (app/compute).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import after_commit
from app.domain.states import JobKind, JobStatus

logger = logging.getLogger("app.jobs")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class JobRef:
    """What a queue carries: which job, of which kind, for which company (its row holds the rest)."""

    kind: JobKind
    id: str
    company_id: str

    def encode(self) -> bytes:
        return orjson.dumps({"kind": self.kind.value, "id": self.id, "company_id": self.company_id})

    @classmethod
    def decode(cls, value: bytes) -> JobRef:
        raw = orjson.loads(value)
        return cls(JobKind(raw["kind"]), str(raw["id"]), str(raw["company_id"]))


JobHandler = Callable[[JobRef], Awaitable[None]]


class JobQueue(Protocol):
    async def start(self, handler: JobHandler) -> None:
        """Begin handing submitted jobs to `handler`, one call per job."""
        ...

    async def stop(self) -> None: ...

    async def submit(self, job: JobRef) -> None:
        """Called once the job's row is committed; a job whose submission fails stays queued and
        is submitted again at the next start."""
        ...

    async def resume(self, queued: Sequence[JobRef], running: Sequence[JobRef]) -> None:
        """At start: jobs a crash left queued or running. Each queue knows which of them it still
        holds (a broker redelivers a job whose offset was never committed)."""
        ...

    async def wait_idle(self) -> None:
        """Until this process runs no job and holds none (tests and tools)."""
        ...


class WorkerLost(Exception):
    """The process running a job died (killed, out of memory); the job can be retried."""


class Compute(Protocol):
    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` away from the event loop; raises `WorkerLost` if its process died."""
        ...

    @property
    def available(self) -> bool:
        """False while no worker can be started (readiness)."""
        ...

    def stop(self) -> None: ...


class UnfinishedJobs(Protocol):
    async def __call__(self, session: AsyncSession) -> Sequence[tuple[JobRef, JobStatus]]: ...


class Jobs:
    """The one dispatcher of every kind of job."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], queue: JobQueue) -> None:
        self.sessions = sessions
        self.queue = queue
        self._handlers: dict[JobKind, JobHandler] = {}
        self._unfinished: list[UnfinishedJobs] = []

    def register(self, kind: JobKind, handler: JobHandler, unfinished: UnfinishedJobs) -> None:
        self._handlers[kind] = handler
        self._unfinished.append(unfinished)

    def submit_after_commit(self, session: AsyncSession, job: JobRef) -> None:
        """Hand the job to the queue once the transaction that created it commits (never for a
        rolled-back one)."""
        after_commit(session, lambda: self.queue.submit(job))

    async def start(self) -> None:
        await self.queue.start(self._handle)
        queued, running = [], []
        async with self.sessions() as session:
            for unfinished in self._unfinished:
                for job, status in await unfinished(session):
                    (running if status == JobStatus.running else queued).append(job)
        if queued or running:
            logger.info("resuming jobs", extra={"queued": len(queued), "running": len(running)})
        await self.queue.resume(queued, running)

    async def stop(self) -> None:
        await self.queue.stop()

    async def wait_idle(self) -> None:
        await self.queue.wait_idle()

    async def _handle(self, job: JobRef) -> None:
        handler = self._handlers.get(job.kind)
        if handler is None:
            logger.error("no handler for job kind", extra={"kind": job.kind, "job_id": job.id})
            return
        await handler(job)
