"""Accepting batches (API side): validate, receipt, hand to the batch queue before the 202.

The batch queue is this service's port: an in-process queue (staged in the receipt) or Kafka
(acknowledged by the broker) implements it in app/transport; the consumer side is
`app/services/batch_sink.py`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import orjson
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import datasets as datasets_db
from app.db.base import utcnow
from app.db.datasets import Dataset, DatasetBatch
from app.db.engine import begin_writing, transaction
from app.domain.principal import Principal
from app.domain.states import DatasetStatus, Kind
from app.errors import Conflict, InvalidInput, error_entries
from app.schemas.datasets import ITEM_SCHEMAS, BatchIn, BatchReceipt, Item
from app.services import audit

logger = logging.getLogger("app.ingestion")


@dataclass(frozen=True)
class BatchEnvelope:
    """One accepted batch: who, where, which kind, and its validated items as a JSON array."""

    company_id: str
    dataset_id: str
    kind: str
    batch_id: str
    items: int
    final: bool
    payload: bytes

    @property
    def key(self) -> bytes:
        """Kafka key: a dataset's batches share a partition, so they stay in order."""
        return f"{self.company_id}:{self.dataset_id}".encode()

    def encode(self) -> bytes:
        header = {"company_id": self.company_id, "dataset_id": self.dataset_id, "kind": self.kind,
                  "batch_id": self.batch_id, "items": self.items, "final": self.final}
        return orjson.dumps(header) + b"\n" + self.payload

    @classmethod
    def decode(cls, value: bytes) -> BatchEnvelope:
        header, _, payload = value.partition(b"\n")
        return cls(**orjson.loads(header), payload=payload)

    @classmethod
    def from_receipt(cls, receipt: DatasetBatch) -> BatchEnvelope:
        return cls(company_id=receipt.company_id, dataset_id=receipt.dataset_id, kind=receipt.kind,
                   batch_id=receipt.batch_id, items=receipt.items, final=receipt.final,
                   payload=(receipt.payload or "").encode())


class BatchQueue(Protocol):
    """Carries accepted batches to the consumer that stores them (app/services/batch_sink.py)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def submit(self, session: AsyncSession, receipt: DatasetBatch, envelope: BatchEnvelope) -> None:
        """Make the batch durable before the request's 202: staged in the receipt (in-process)
        or acknowledged by every in-sync broker replica (Kafka)."""
        ...


@cache
def batch_adapter(kind: Kind) -> TypeAdapter[BatchIn]:
    return TypeAdapter(BatchIn[ITEM_SCHEMAS[kind]])


@cache
def items_adapter(kind: Kind) -> TypeAdapter[list[Item]]:
    return TypeAdapter(list[ITEM_SCHEMAS[kind]])


def parse_batch(kind: Kind, body: bytes) -> BatchIn:
    """Validate a whole batch; any invalid item refuses it with every error listed."""
    try:
        return batch_adapter(kind).validate_json(body)
    except ValidationError as exc:
        errors = error_entries(exc.errors(include_url=False, include_input=False))
        raise InvalidInput(
            f"The batch was refused: {len(errors)} error(s), e.g. " + describe(errors[0]), errors=errors
        ) from exc


def describe(error: dict) -> str:
    if error.get("index") is not None:
        return f"item {error['index']}, field {error.get('field')}: {error['message']}"
    return f"field {error.get('field')}: {error['message']}"


async def accept_batch(session: AsyncSession, queue: BatchQueue, principal: Principal, dataset: Dataset,
                       kind: Kind, batch: BatchIn) -> BatchReceipt:
    """The batch's receipt once it is durable. The same batch_id again (a retry, or the same
    request sent twice at once) answers the first receipt; with other items, a 409."""
    payload = items_adapter(kind).dump_json(batch.items)
    digest = batch_digest(payload, batch.final)
    receipt = DatasetBatch(company_id=principal.company.id, dataset_id=dataset.id, kind=kind.value,
                           batch_id=batch.batch_id, items=len(batch.items), final=batch.final,
                           digest=digest, accepted_at=utcnow())
    existing = await claim_receipt(session, dataset, kind, receipt)
    if existing is not None:
        return existing
    envelope = BatchEnvelope(principal.company.id, dataset.id, kind.value, batch.batch_id, len(batch.items),
                             batch.final, payload)
    await queue.submit(session, receipt, envelope)
    audit_accepted(session, principal, dataset, kind, receipt)
    return receipt_of(receipt)


async def claim_receipt(session: AsyncSession, dataset: Dataset, kind: Kind,
                        receipt: DatasetBatch) -> BatchReceipt | None:
    """Add the receipt of a new batch (or file) to the session; None once it is ours, else the
    first receipt of the same batch_id (409 if that one came with other content). The unique
    receipt makes concurrent identical requests wait for each other and store once."""
    existing, final = await datasets_db.batch_and_final(session, dataset.id, kind.value, receipt.batch_id)
    if existing is not None:
        return _repeated(existing, receipt.digest)
    if dataset.status != DatasetStatus.receiving:
        raise Conflict(f"Dataset {dataset.id} is {dataset.status}; it no longer accepts batches.")
    if final:
        raise Conflict(f"The {kind.value} of dataset {dataset.id} were marked final; start a new dataset.")
    await begin_writing(session)
    try:
        async with session.begin_nested():
            session.add(receipt)
    except IntegrityError:  # the same batch_id committed meanwhile by a concurrent request
        existing = await datasets_db.get_batch(session, dataset.id, kind.value, receipt.batch_id)
        if existing is None:
            raise
        return _repeated(existing, receipt.digest)
    return None


def batch_digest(payload: bytes, final: bool) -> str:
    """SHA-256 of the validated items (as stored) and the final flag."""
    return hashlib.sha256(b"final=%d\n" % final + payload).hexdigest()


def _repeated(existing: DatasetBatch, digest: str) -> BatchReceipt:
    if existing.digest is not None and existing.digest != digest:
        raise Conflict(
            f"Batch {existing.batch_id} of the {existing.kind} was already accepted with other items; "
            "send different items under a new batch_id.",
            errors=[{"field": "batch_id", "message": f"{existing.batch_id} was accepted with other items"}])
    return receipt_of(existing, duplicate=True)


async def record_refusal(sessions: async_sessionmaker[AsyncSession], principal: Principal, dataset: Dataset,
                         kind: Kind, exc: InvalidInput) -> None:
    """Audit a refused batch. The request's transaction rolls back with the 422, so the refusal is
    written in a transaction of its own."""
    errors = exc.errors or []
    summary = {"kind": kind.value, "errors": len(errors),
               "items_with_errors": len({e.get("index") for e in errors if e.get("index") is not None})}
    async with transaction(sessions) as session:
        audit.record(session, company_id=principal.company.id, action="batch.refused", subject_type="dataset",
                     subject_id=dataset.id, summary=summary, actor=principal.jti)


def audit_accepted(session: AsyncSession, principal: Principal, dataset: Dataset, kind: Kind,
                    receipt: DatasetBatch, **extra: object) -> None:
    summary = {"kind": kind.value, "batch_id": receipt.batch_id, "items": receipt.items,
               "final": receipt.final} | extra
    audit.record(session, company_id=dataset.company_id, action="batch.accepted", subject_type="dataset",
                 subject_id=dataset.id, summary=summary, actor=principal.jti)
    if receipt.final:
        audit.record(session, company_id=dataset.company_id, action="dataset.kind_completed",
                     subject_type="dataset", subject_id=dataset.id, summary={"kind": kind.value},
                     actor=principal.jti)


def receipt_of(batch: DatasetBatch, duplicate: bool = False) -> BatchReceipt:
    return BatchReceipt(batch_id=batch.batch_id, kind=Kind(batch.kind), items=batch.items, final=batch.final,
                        accepted_at=batch.accepted_at, duplicate=duplicate)
