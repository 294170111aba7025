"""Training requests through Kafka: each job id is one record; the replicas of one consumer group
take turns, so exactly one runs each job. The offset is committed only when the job finished, so
a replica that dies mid-training leaves the record to another one, which resumes the job."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError

from app.settings import Settings

logger = logging.getLogger("app.transport")
RunJob = Callable[[str], Awaitable[None]]
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

    async def start(self, run_job: RunJob) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap_servers, acks="all",
                                    enable_idempotence=False, client_id="creditgate-training")
        await producer.start()
        self._producer = producer
        self._task = asyncio.create_task(self._run(run_job), name="kafka-training-consumer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._producer is not None:
            await self._producer.stop()

    async def publish(self, job_id: str, company_id: str) -> None:
        """Called after the job's commit; a job whose publication failed stays queued and is
        published again at the next start."""
        try:
            await self._producer.send_and_wait(self.topic, job_id.encode(), key=company_id.encode())
        except KafkaError:
            logger.warning("training job not published; it stays queued", extra={"job_id": job_id},
                           exc_info=True)

    async def _run(self, run_job: RunJob) -> None:
        while True:
            consumer = AIOKafkaConsumer(
                self.topic, bootstrap_servers=self.settings.kafka_bootstrap_servers, group_id=self.group,
                enable_auto_commit=False, auto_offset_reset="earliest", client_id="creditgate-training",
                max_poll_interval_ms=MAX_POLL_INTERVAL_MS, session_timeout_ms=SESSION_TIMEOUT_MS,
                heartbeat_interval_ms=1_000, rebalance_timeout_ms=SESSION_TIMEOUT_MS,
            )
            try:
                await consumer.start()
                while True:
                    record = await consumer.getone()
                    await run_job(record.value.decode())
                    await consumer.commit()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("training consumer failed, restarting it", exc_info=True)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()
            await asyncio.sleep(1.0)
