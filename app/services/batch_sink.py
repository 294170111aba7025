"""The consumer side shared by both batch queues: store batches exactly once, dead-letter the
unstorable, then check whether their datasets became complete."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from functools import partial

import polars as pl
from sqlalchemy import and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import datasets as datasets_db
from app.db.base import utcnow
from app.db.bulk import bulk_insert, insert_frames
from app.db.datasets import Dataset, DatasetBatch
from app.db.engine import after_commit, transaction
from app.db.errors import PermanentFailure, is_permanent, is_transient
from app.db.records import TABLES, data_columns
from app.domain.states import DatasetStatus
from app.metrics import BATCHES_DEAD_LETTERED, ROWS_STORED
from app.services import audit
from app.services import datasets as datasets_service
from app.services.batch_rows import payload_frame, payload_rows
from app.services.datasets import DatasetReadyHook
from app.services.ingestion import BatchEnvelope, batch_digest
from app.settings import Settings

logger = logging.getLogger("app.ingestion")
DeadLetterCallback = Callable[[BatchEnvelope, str], Awaitable[None]]


class BatchSink:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings,
                 on_ready: DatasetReadyHook | None = None) -> None:
        self.sessions = sessions
        self.settings = settings
        self.on_ready = on_ready

    async def store(self, envelopes: Sequence[BatchEnvelope], on_dead: DeadLetterCallback | None = None) -> int:
        """Store all envelopes (several per transaction); a transient database error propagates so
        the caller retries without acknowledging; a permanent one dead-letters that batch only.
        Returns how many batches were stored now (redeliveries of stored ones are skipped)."""
        try:
            async with transaction(self.sessions) as session:
                touched, stored = await store_envelopes(session, envelopes)
        except Exception as exc:
            if is_transient(exc):
                raise
            touched, stored = set(), 0  # one batch per transaction now, to dead-letter only the culprit
            for envelope in envelopes:
                one_touched, one_stored = await self._store_or_dead_letter(envelope, on_dead)
                touched, stored = touched | one_touched, stored + one_stored
        await self.after_store(touched)
        return stored

    async def staged(self, limit: int) -> list[BatchEnvelope]:
        """Batches staged in their receipts (in-process queue) and not stored yet, oldest first."""
        async with self.sessions() as session:
            return [BatchEnvelope.from_receipt(r) for r in await datasets_db.pending_payload_batches(session, limit)]

    async def after_store(self, dataset_ids: set[str]) -> None:
        """Check whether the datasets became complete. The batches are stored already: a check that
        fails for another reason than database trouble is logged and never holds storing back (it
        runs again with the dataset's next batch and at every start)."""
        for dataset_id in sorted(dataset_ids):
            try:
                await datasets_service.check_completion(self.sessions, self.settings, dataset_id, self.on_ready)
            except Exception as exc:
                if is_transient(exc):
                    raise
                logger.exception("completion check failed", extra={"dataset_id": dataset_id})

    async def _store_or_dead_letter(self, envelope: BatchEnvelope,
                                    on_dead: DeadLetterCallback | None) -> tuple[set[str], int]:
        try:
            async with transaction(self.sessions) as session:
                return await store_envelopes(session, [envelope])
        except Exception as exc:
            if not is_permanent(exc):
                raise
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if on_dead is not None:
            await on_dead(envelope, reason)
        async with transaction(self.sessions) as session:
            await record_dead_letter(session, envelope, reason)
        return {envelope.dataset_id}, 0


async def store_envelopes(session: AsyncSession, envelopes: Iterable[BatchEnvelope]) -> tuple[set[str], int]:
    """Store several batches in the caller's transaction, each at most once; returns the dataset
    ids they name and how many were stored now."""
    touched: set[str] = set()
    envelopes = list(envelopes)
    claimed = await _claim_all(session, envelopes)
    to_store = []
    for envelope in envelopes:
        # A redelivered batch still names its dataset: a crash may have come between storing the
        # dataset's last batch and its completion check, which then runs now.
        touched.add(envelope.dataset_id)
        key = (envelope.dataset_id, envelope.kind, envelope.batch_id)
        if key in claimed:
            claimed.discard(key)  # the same batch twice in one poll is stored once
        elif not await _claim(session, envelope):
            logger.info("batch already stored, skipped (a redelivery)",
                        extra={"dataset_id": envelope.dataset_id, "batch_id": envelope.batch_id})
            continue
        to_store.append(envelope)
    dialect = session.bind.dialect.name
    if dialect == "postgresql":  # Polars off the event loop (it releases the GIL), then one COPY per kind
        frames, rest = await asyncio.to_thread(_frames_by_kind, to_store)
    else:
        frames, rest = {}, to_store
    rows_by_kind: dict[str, list[tuple]] = defaultdict(list)
    for envelope in rest:
        rows_by_kind[envelope.kind].extend(payload_rows(envelope.kind, envelope.batch_id,
                                                        (envelope.dataset_id, envelope.company_id),
                                                        envelope.payload, dialect == "sqlite"))
    for kind, rows in rows_by_kind.items():
        await bulk_insert(session, TABLES[kind], ["dataset_id", "company_id", *data_columns(kind)], rows)
    for kind, frame in frames.items():
        await insert_frames(session, TABLES[kind], {}, _one(frame))
    counts = defaultdict(int, {kind: len(rows) for kind, rows in rows_by_kind.items()})
    for kind, frame in frames.items():
        counts[kind] += frame.height
    if counts:
        after_commit(session, partial(_count_rows, dict(counts)))
    return touched, len(to_store)


def _frames_by_kind(envelopes: list[BatchEnvelope]) -> tuple[dict[str, pl.DataFrame], list[BatchEnvelope]]:
    """The payloads as one frame per kind (owner columns first), and the envelopes whose payload
    needs the exact per-value check instead."""
    frames: dict[str, list[pl.DataFrame]] = defaultdict(list)
    rest = []
    for envelope in envelopes:
        frame = payload_frame(envelope.kind, envelope.payload)
        if frame is None:
            rest.append(envelope)
            continue
        frames[envelope.kind].append(frame.select(pl.lit(envelope.dataset_id).alias("dataset_id"),
                                                  pl.lit(envelope.company_id).alias("company_id"), pl.all()))
    return {kind: pl.concat(parts) for kind, parts in frames.items()}, rest


async def _one(frame: pl.DataFrame) -> AsyncIterator[pl.DataFrame]:
    yield frame


async def _count_rows(counts: dict[str, int]) -> None:
    for kind, count in counts.items():
        ROWS_STORED.labels(kind).inc(count)


async def _count_dead_letter(kind: str) -> None:
    BATCHES_DEAD_LETTERED.labels(kind).inc()


def _receipt_filter(envelope: BatchEnvelope) -> tuple:
    return (DatasetBatch.dataset_id == envelope.dataset_id, DatasetBatch.kind == envelope.kind,
            DatasetBatch.batch_id == envelope.batch_id)


async def _claim_all(session: AsyncSession, envelopes: list[BatchEnvelope]) -> set[tuple[str, str, str]]:
    """Claim every batch whose receipt waits, in one statement (one round trip per poll instead
    of one per batch); the others go through `_claim` one by one."""
    if not envelopes:
        return set()
    receipts = or_(*[and_(*_receipt_filter(envelope)) for envelope in envelopes])
    result = await session.execute(
        update(DatasetBatch).where(receipts, DatasetBatch.stored_at.is_(None))
        .values(stored_at=utcnow(), payload=None)
        .returning(DatasetBatch.dataset_id, DatasetBatch.kind, DatasetBatch.batch_id))
    return {tuple(row) for row in result}


async def _claim(session: AsyncSession, envelope: BatchEnvelope) -> bool:
    """Mark the receipt stored; False when it already was (a redelivery)."""
    where = _receipt_filter(envelope)
    result = await session.execute(
        update(DatasetBatch).where(*where, DatasetBatch.stored_at.is_(None)).values(stored_at=utcnow(), payload=None)
    )
    if result.rowcount == 1:
        return True
    if await datasets_db.get_batch(session, envelope.dataset_id, envelope.kind, envelope.batch_id):
        return False
    # The broker delivered it before the API committed its receipt (or the API died after the ack).
    dataset = await session.get(Dataset, envelope.dataset_id)
    if dataset is None or dataset.company_id != envelope.company_id:
        raise PermanentFailure(f"dataset {envelope.dataset_id} does not exist for this company")
    if dataset.status != DatasetStatus.receiving:  # its request never got a 202; never change a validated dataset
        raise PermanentFailure(f"dataset {envelope.dataset_id} is {dataset.status}; the batch came too late")
    try:
        async with session.begin_nested():
            session.add(_receipt_row(envelope, stored=True))
        return True
    except IntegrityError:
        # The API's receipt committed meanwhile: claim it the ordinary way.
        result = await session.execute(
            update(DatasetBatch).where(*where, DatasetBatch.stored_at.is_(None)).values(stored_at=utcnow())
        )
        return result.rowcount == 1


def _receipt_row(envelope: BatchEnvelope, *, stored: bool, error: str | None = None) -> DatasetBatch:
    now = utcnow()
    return DatasetBatch(company_id=envelope.company_id, dataset_id=envelope.dataset_id, kind=envelope.kind,
                        batch_id=envelope.batch_id, items=envelope.items, final=envelope.final, accepted_at=now,
                        digest=batch_digest(envelope.payload, envelope.final), stored_at=now if stored else None,
                        error=error)


async def record_dead_letter(session: AsyncSession, envelope: BatchEnvelope, reason: str) -> None:
    """Remember a batch that can never be stored, on the dataset, so a person can see why - once:
    two consumers that raced for the same staged batch record (audit, count) one dead letter."""
    result = await session.execute(update(DatasetBatch).where(*_receipt_filter(envelope), DatasetBatch.error.is_(None))
                                   .values(error=reason[:2000], payload=None))
    dataset = await session.get(Dataset, envelope.dataset_id)
    if result.rowcount == 0:
        if await datasets_db.get_batch(session, envelope.dataset_id, envelope.kind, envelope.batch_id) is not None:
            return  # dead-lettered already
        if dataset is not None:
            session.add(_receipt_row(envelope, stored=False, error=reason[:2000]))
    if dataset is not None:
        audit.record(session, company_id=dataset.company_id, action="batch.dead_lettered",
                     subject_type="dataset", subject_id=dataset.id,
                     summary={"kind": envelope.kind, "batch_id": envelope.batch_id, "reason": reason[:200]})
    after_commit(session, partial(_count_dead_letter, envelope.kind))
    logger.error("batch dead-lettered", extra={"dataset_id": envelope.dataset_id, "batch_id": envelope.batch_id,
                                              "reason": reason})
