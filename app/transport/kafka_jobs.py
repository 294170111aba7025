"""Jobs through Kafka: each job is one record `{kind, id, company_id}` on `<prefix>.training`,
keyed by company; the replicas of one consumer group take turns, so exactly one runs each job.
The offset is committed only when the job finished, so a replica that dies mid-job leaves the
record to another one, which resumes it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from app.db.errors import is_transient
from app.domain.states import JobKind
from app.kit import tasks
from app.services.jobs import JobHandler, JobRef
from app.settings import Settings
from app.transport.kafka import ConsumerLag

logger = logging.getLogger("app.transport")
# A training may run for long without polling; liveness is the heartbeat, not the poll interval.
MAX_POLL_INTERVAL_MS = 24 * 3600 * 1000
SESSION_TIMEOUT_MS = 6_000


class KafkaJobQueue:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topic = f"{settings.kafka_topic_prefix}.training"
        self.group = f"{settings.kafka_group_id}.training"
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._lag = ConsumerLag(self.topic)

    async def start(self, handler: JobHandler) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap_servers, acks="all",
                                    enable_idempotence=False, client_id="creditgate-jobs")
        await producer.start()
        self._producer = producer
        self._task = asyncio.create_task(self._run(handler), name="kafka-job-consumer")

    async def stop(self) -> None:
        await tasks.cancel(self._task)
        self._task = None
        if self._producer is not None:
            await self._producer.stop()

    async def submit(self, job: JobRef) -> None:
        """A job whose publication failed stays queued and is published again at the next start."""
        try:
            await self._producer.send_and_wait(self.topic, job.encode(), key=job.company_id.encode())
        except KafkaError:
            logger.warning("job not published; it stays queued", extra={"job_id": job.id}, exc_info=True)

    async def resume(self, queued: Sequence[JobRef], running: Sequence[JobRef]) -> None:
        """A running job's record was never committed: the broker redelivers it. Queued jobs may
        never have been published (a crash after their commit), so they are published again; a
        job published twice runs once (its handler skips a finished job)."""
        for job in queued:
            await self.submit(job)

    async def wait_idle(self) -> None:
        await self._idle.wait()

    async def _handle(self, handler: JobHandler, job: JobRef) -> None:
        """Run one job. Database or network trouble propagates (the consumer restarts without
        committing, so the job comes back); any other error is a bug in that job: logged, and the
        record committed so that it does not block every job behind it on its partition."""
        self._idle.clear()
        try:
            await handler(job)
        except Exception as exc:
            if is_transient(exc):
                raise
            logger.exception("job failed unexpectedly; skipped", extra={"job_id": job.id, "kind": job.kind})
        finally:
            self._idle.set()

    async def _run(self, handler: JobHandler) -> None:
        while True:
            consumer = AIOKafkaConsumer(
                self.topic, bootstrap_servers=self.settings.kafka_bootstrap_servers, group_id=self.group,
                enable_auto_commit=False, auto_offset_reset="earliest", client_id="creditgate-jobs",
                max_poll_interval_ms=MAX_POLL_INTERVAL_MS, session_timeout_ms=SESSION_TIMEOUT_MS,
                heartbeat_interval_ms=1_000, rebalance_timeout_ms=SESSION_TIMEOUT_MS,
            )
            try:
                await consumer.start()
                while True:
                    record = await consumer.getone()
                    self._lag.observe(consumer, {TopicPartition(record.topic, record.partition): [record]})
                    job = _decode(record.value or b"")
                    if job is not None:
                        await self._handle(handler, job)
                    await consumer.commit()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("job consumer failed, restarting it", exc_info=True)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()
            await asyncio.sleep(1.0)


def _decode(value: bytes) -> JobRef | None:
    """A job record; a bare id (records written before evaluations were jobs) is a training job.
    A record that is neither is logged and skipped (it would otherwise block its partition)."""
    try:
        if value.startswith(b"{"):
            return JobRef.decode(value)
        return JobRef(JobKind.training, value.decode("ascii"), "")
    except (ValueError, KeyError, TypeError):
        logger.error("unreadable job record skipped", extra={"value": value[:200].decode("latin-1")})
        return None
