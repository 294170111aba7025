"""The queue interface shared by the Kafka and in-process transports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.datasets import DatasetBatch


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
        header = {
            "company_id": self.company_id,
            "dataset_id": self.dataset_id,
            "kind": self.kind,
            "batch_id": self.batch_id,
            "items": self.items,
            "final": self.final,
        }
        return orjson.dumps(header) + b"\n" + self.payload

    @classmethod
    def decode(cls, value: bytes) -> BatchEnvelope:
        header, _, payload = value.partition(b"\n")
        return cls(**orjson.loads(header), payload=payload)

    @classmethod
    def from_receipt(cls, receipt: DatasetBatch) -> BatchEnvelope:
        return cls(
            company_id=receipt.company_id,
            dataset_id=receipt.dataset_id,
            kind=receipt.kind,
            batch_id=receipt.batch_id,
            items=receipt.items,
            final=receipt.final,
            payload=(receipt.payload or "").encode(),
        )


class BatchQueue(Protocol):
    """Carries accepted batches to the consumer that stores them."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def submit(self, session: AsyncSession, receipt: DatasetBatch, envelope: BatchEnvelope) -> None:
        """Make the batch durable before the request's 202: staged in the receipt (in-process)
        or acknowledged by every in-sync broker replica (Kafka)."""
        ...
