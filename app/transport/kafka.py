"""Kafka transport: a batch is acknowledged by the broker before the 202; the replicas of one
consumer group store the batches and commit offsets only after the database commit.

Delivery is at-least-once (Tansu, the development broker, refuses idempotent producers and
transactions): a batch may be published twice (a client retry after a lost 202) or consumed twice
(a crash between the database commit and the offset commit). The sink makes that exactly-once in
the database: a batch is claimed through its receipt and a redelivery finds it already claimed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.datasets import DatasetBatch
from app.db.errors import is_transient
from app.errors import ServiceUnavailable
from app.kit import tasks
from app.kit.failpoints import Failpoints
from app.metrics import BATCHES_DEAD_LETTERED, CONSUMER_LAG
from app.services.batch_sink import BatchSink
from app.services.ingestion import BatchEnvelope
from app.settings import Settings

logger = logging.getLogger("app.transport")

UNAVAILABLE = "The message broker is unavailable; retry the batch with the same batch_id."
DEAD_LETTER_HEADER = "dead_letter"
POLL_MS = 500
# A SIGKILLed replica stops heartbeating; its partitions move to the others after the session
# timeout (plus Tansu's 3 s join pause). Heartbeats run in their own task, so only an event loop
# blocked for seconds could expire a live member, and that costs a redelivery, never a batch.
SESSION_TIMEOUT_MS = 6_000
HEARTBEAT_INTERVAL_MS = 1_000
REQUEST_TIMEOUT_MS = 15_000
MAX_BACKOFF_SECONDS = 10.0

Polled = dict[TopicPartition, list[ConsumerRecord]]


class KafkaBatchQueue:
    def __init__(self, settings: Settings, sink: BatchSink) -> None:
        self.settings = settings
        self.sink = sink
        self.topic = f"{settings.kafka_topic_prefix}.batches"
        self.dead_letter_topic = f"{settings.kafka_topic_prefix}.batches.dead-letter"
        # Room for the largest accepted body (the payload is re-serialised, so allow for growth).
        self.max_message_bytes = max(4 * 1024 * 1024, 2 * settings.max_body_bytes)
        self.records_committed = 0
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task | None = None
        self._failures = 0
        self._failpoints = Failpoints(settings.failpoints, settings.failpoints_marker)
        self._origins: dict[int, ConsumerRecord] = {}
        self._lag = ConsumerLag(self.topic)

    async def start(self) -> None:
        await self._ensure_topics()
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            client_id="creditgate-batches",
            acks="all",
            enable_idempotence=False,
            linger_ms=5,
            compression_type=None,
            max_request_size=self.max_message_bytes,
            request_timeout_ms=REQUEST_TIMEOUT_MS,
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer
        self._task = asyncio.create_task(self._run(), name="kafka-batch-consumer")
        logger.info("kafka transport started", extra={"topic": self.topic, "group": self.settings.kafka_group_id})

    async def stop(self) -> None:
        await tasks.cancel(self._task)
        self._task = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def submit(self, session: AsyncSession, receipt: DatasetBatch, envelope: BatchEnvelope) -> None:
        """Return once the broker acknowledged the batch; otherwise the request rolls back."""
        if self._producer is None:
            raise ServiceUnavailable(UNAVAILABLE)
        try:
            await self._producer.send_and_wait(self.topic, envelope.encode(), key=envelope.key)
        except KafkaError as exc:
            logger.warning("broker did not acknowledge a batch", extra={
                "dataset_id": envelope.dataset_id, "batch_id": envelope.batch_id, "error": repr(exc)})
            raise ServiceUnavailable(UNAVAILABLE) from exc

    def assignment(self) -> set[TopicPartition]:
        """The partitions this replica consumes right now (operations and tests)."""
        return set(self._consumer.assignment()) if self._consumer is not None else set()

    async def _ensure_topics(self) -> None:
        partitions = self.settings.kafka_partitions
        topics = [NewTopic(name, partitions, 1) for name in (self.topic, self.dead_letter_topic)]
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap_servers,
                                    request_timeout_ms=REQUEST_TIMEOUT_MS)
        try:
            await admin.start()
            response = await admin.create_topics(topics)
        except KafkaError as exc:
            logger.warning("could not create topics, relying on auto-creation", extra={"error": repr(exc)})
            return
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
        for name, code, message in response.topic_errors:
            if code not in (0, TopicAlreadyExistsError.errno):
                logger.warning("could not create topic", extra={"topic": name, "code": code, "error": message})

    def _new_consumer(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            client_id="creditgate-batches",
            group_id=self.settings.kafka_group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=self.max_message_bytes,
            session_timeout_ms=SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
            rebalance_timeout_ms=SESSION_TIMEOUT_MS,
            request_timeout_ms=REQUEST_TIMEOUT_MS,
        )
        consumer.subscribe([self.topic], listener=_LogRebalance())
        return consumer

    async def _run(self) -> None:
        """Consume until cancelled; a broker or consumer failure restarts the consumer after a pause."""
        restarts = 0
        while True:
            self._consumer = consumer = self._new_consumer()
            try:
                await consumer.start()
                restarts = 0
                await self._consume(consumer)
            except Exception as exc:
                restarts += 1
                logger.warning("kafka consumer failed, restarting it", extra={"error": repr(exc)},
                               exc_info=not isinstance(exc, KafkaError))
            finally:
                self._consumer = None
                with contextlib.suppress(Exception):
                    await consumer.stop()
            await asyncio.sleep(_backoff(restarts))

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        per_poll = self.settings.ingest_batches_per_commit
        while True:
            polled = await consumer.getmany(timeout_ms=POLL_MS, max_records=per_poll)
            polled = {tp: records for tp, records in polled.items() if records}
            self._lag.observe(consumer, polled)
            if polled:
                await self._handle(consumer, polled)

    async def _handle(self, consumer: AIOKafkaConsumer, polled: Polled) -> None:
        """Store one poll in one transaction, then commit its offsets; on failure read it again."""
        records = [record for partition in polled.values() for record in partition]
        decoded = [(record, _decode(record)) for record in records]
        envelopes = [envelope for _, envelope in decoded if isinstance(envelope, BatchEnvelope)]
        self._origins = {id(envelope): record for record, envelope in decoded}
        try:
            stored = await self._store(envelopes)
            for record, problem in decoded:
                if isinstance(problem, str):
                    await self._publish_dead_letter(record.value or b"", record.key, problem, record)
                    BATCHES_DEAD_LETTERED.labels("undecodable").inc()
        except Exception as exc:
            await self._retry_later(consumer, polled, exc)
            return
        self._failures = 0
        if stored:
            await self._failpoints.reach("kafka.batches.stored")  # stored now, offsets not committed yet
        await self._commit(consumer, polled)

    async def _store(self, envelopes: list[BatchEnvelope]) -> int:
        """The sink stores what it can and dead-letters (through `_dead_letter`) what it never will;
        anything it raises is trouble to retry, so nothing of the poll is committed."""
        if not envelopes:
            return 0
        return await self.sink.store(envelopes, on_dead=self._dead_letter)

    async def _retry_later(self, consumer: AIOKafkaConsumer, polled: Polled, exc: Exception) -> None:
        """Nothing is committed: rewind every partition to the poll's first record and pause."""
        self._failures += 1
        logger.warning("batches not stored, retrying", exc_info=not _infrastructure(exc), extra={
            "error": repr(exc), "attempt": self._failures,
            "offsets": {f"{tp.topic}/{tp.partition}": records[0].offset for tp, records in polled.items()}})
        assigned = consumer.assignment()
        for tp, records in polled.items():
            if tp in assigned:  # a revoked partition restarts from its committed offset elsewhere
                consumer.seek(tp, records[0].offset)
        await asyncio.sleep(_backoff(self._failures))

    async def _commit(self, consumer: AIOKafkaConsumer, polled: Polled) -> None:
        offsets = {tp: records[-1].offset + 1 for tp, records in polled.items()}
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:
            # After a rebalance: the new owner redelivers these batches and the sink skips them.
            logger.warning("offset commit failed, batches will be redelivered", extra={"error": repr(exc)})
            return
        self.records_committed += sum(len(records) for records in polled.values())

    async def _dead_letter(self, envelope: BatchEnvelope, reason: str) -> None:
        """The sink's callback for a batch that can never be stored."""
        origin = self._origins.get(id(envelope))
        key = origin.key if origin is not None else envelope.key
        await self._publish_dead_letter(envelope.encode(), key, reason, origin)

    async def _publish_dead_letter(self, value: bytes, key: bytes | None, reason: str,
                                   origin: ConsumerRecord | None) -> None:
        header = {"reason": reason, "dead_lettered_at": datetime.now(UTC).isoformat()}
        if origin is not None:
            header |= {"topic": origin.topic, "partition": origin.partition, "offset": origin.offset}
        await self._producer.send_and_wait(self.dead_letter_topic, value, key=key,
                                           headers=[(DEAD_LETTER_HEADER, orjson.dumps(header))])
        logger.error("record dead-lettered", extra={"topic": self.dead_letter_topic, **header})


class ConsumerLag:
    """Records behind the end of a topic on the partitions this consumer holds: the last known
    highwater minus the next offset it will hand out (Kafka's own `records-lag`), from what every
    poll already returns - no request of its own. A partition counts once it delivered a record."""

    def __init__(self, topic: str) -> None:
        self._gauge = CONSUMER_LAG.labels(topic)
        self._next: dict[TopicPartition, int] = {}

    def observe(self, consumer: AIOKafkaConsumer, polled: Polled) -> None:
        for tp, records in polled.items():
            self._next[tp] = records[-1].offset + 1
        lag = 0
        for tp in consumer.assignment():
            end, position = consumer.highwater(tp), self._next.get(tp)
            if end is not None and position is not None:
                lag += max(0, end - position)
        self._gauge.set(lag)


def _backoff(attempt: int) -> float:
    return min(MAX_BACKOFF_SECONDS, 0.25 * 2 ** min(attempt, 6))


def _infrastructure(exc: BaseException) -> bool:
    return isinstance(exc, KafkaError) or is_transient(exc)


class _LogRebalance(ConsumerRebalanceListener):
    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        logger.info("partitions revoked", extra={"partitions": sorted(tp.partition for tp in revoked)})

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        logger.info("partitions assigned", extra={"partitions": sorted(tp.partition for tp in assigned)})


_HEADER_TYPES = {"company_id": str, "dataset_id": str, "kind": str, "batch_id": str, "items": int, "final": bool}


def _decode(record: ConsumerRecord) -> BatchEnvelope | str:
    """The record's envelope, or the reason it is not one."""
    try:
        envelope = BatchEnvelope.decode(record.value or b"")
    except (ValueError, TypeError) as exc:
        return f"undecodable record: {type(exc).__name__}: {exc}".splitlines()[0]
    for field, expected in _HEADER_TYPES.items():
        value = getattr(envelope, field)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            return f"undecodable record: header field {field} is not a {expected.__name__}"
    return envelope
