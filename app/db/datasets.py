"""Datasets (upload sessions) and the receipts of their batches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Select,
    String,
    Text,
    UniqueConstraint,
    case,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, BigIntPK, new_id, status_type, utcnow
from app.db.records import TABLES
from app.domain.states import DatasetStatus, Purpose


class Dataset(Base):
    __tablename__ = "datasets"
    __table_args__ = (Index("ix_datasets_company_id_created_at", "company_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    name: Mapped[str | None] = mapped_column(String(200))
    purpose: Mapped[Purpose] = mapped_column(status_type(Purpose))
    status: Mapped[DatasetStatus] = mapped_column(status_type(DatasetStatus), default=DatasetStatus.receiving)
    report: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DatasetBatch(Base):
    """The receipt of one accepted batch; `payload` stages it when no broker is configured."""

    __tablename__ = "dataset_batches"
    __table_args__ = (
        UniqueConstraint("dataset_id", "kind", "batch_id"),
        Index("ix_dataset_batches_pending", "stored_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    company_id: Mapped[str] = mapped_column(String(36))
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"))
    kind: Mapped[str] = mapped_column(String(16))
    batch_id: Mapped[str] = mapped_column(String(100))
    items: Mapped[int]
    final: Mapped[bool]
    payload: Mapped[str | None] = mapped_column(Text)
    # SHA-256 of the batch's validated items and final flag: the same batch_id again with other
    # items is a conflict, never silently dropped.
    digest: Mapped[str | None] = mapped_column(String(64))
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
    stored_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


async def get_dataset(session: AsyncSession, company_id: str, dataset_id: str) -> Dataset | None:
    """The company's dataset unless deleted (a deleted one is gone for its owner too)."""
    dataset = await session.get(Dataset, dataset_id)
    if dataset is None or dataset.company_id != company_id or dataset.status == DatasetStatus.deleted:
        return None
    return dataset


BATCH_PAGE_KEYS = (DatasetBatch.id,)


def dataset_batches(dataset_id: str) -> Select:
    return select(DatasetBatch).where(DatasetBatch.dataset_id == dataset_id)


async def delete_rows(session: AsyncSession, dataset_id: str) -> dict[str, int]:
    """Remove a dataset's uploaded rows and batch receipts; returns the rows removed per kind."""
    removed = {}
    for kind, table in TABLES.items():
        result = await session.execute(delete(table).where(table.c.dataset_id == dataset_id))
        removed[kind] = int(result.rowcount or 0)
    await session.execute(delete(DatasetBatch).where(DatasetBatch.dataset_id == dataset_id))
    return removed


PAGE_KEYS = (Dataset.created_at, Dataset.id)


def company_datasets(company_id: str) -> Select:
    return select(Dataset).where(Dataset.company_id == company_id, Dataset.status != DatasetStatus.deleted)


async def get_batch(session: AsyncSession, dataset_id: str, kind: str, batch_id: str) -> DatasetBatch | None:
    query = select(DatasetBatch).where(
        DatasetBatch.dataset_id == dataset_id,
        DatasetBatch.kind == kind,
        DatasetBatch.batch_id == batch_id,
    )
    return await session.scalar(query)


async def batch_and_final(session: AsyncSession, dataset_id: str, kind: str,
                          batch_id: str) -> tuple[DatasetBatch | None, bool]:
    """The receipt of `batch_id`, if any, and whether the kind has a final batch: one round trip."""
    query = select(DatasetBatch).where(
        DatasetBatch.dataset_id == dataset_id, DatasetBatch.kind == kind,
        or_(DatasetBatch.batch_id == batch_id, DatasetBatch.final.is_(True)),
    ).limit(2)
    rows = list(await session.scalars(query))
    return next((r for r in rows if r.batch_id == batch_id), None), any(r.final for r in rows)


async def progress_by_kind(session: AsyncSession, dataset_id: str) -> dict[str, dict[str, int | bool]]:
    stored = DatasetBatch.stored_at.is_not(None)
    query = (
        select(
            DatasetBatch.kind,
            func.count(),
            func.sum(case((stored, 1), else_=0)),
            func.sum(case((DatasetBatch.error.is_not(None), 1), else_=0)),
            func.sum(DatasetBatch.items),
            func.sum(case((stored, DatasetBatch.items), else_=0)),
            func.max(case((DatasetBatch.final.is_(True), 1), else_=0)),
        )
        .where(DatasetBatch.dataset_id == dataset_id)
        .group_by(DatasetBatch.kind)
    )
    out = {}
    for kind, accepted, n_stored, failed, rows, rows_stored, final in await session.execute(query):
        out[kind] = {
            "batches_accepted": accepted,
            "batches_stored": int(n_stored or 0),
            "batches_failed": int(failed or 0),
            "rows_accepted": int(rows or 0),
            "rows_stored": int(rows_stored or 0),
            "final": bool(final),
        }
    return out


async def dead_letters(session: AsyncSession, dataset_id: str, limit: int = 20) -> list[DatasetBatch]:
    query = (
        select(DatasetBatch)
        .where(DatasetBatch.dataset_id == dataset_id, DatasetBatch.error.is_not(None))
        .order_by(DatasetBatch.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def transition(session: AsyncSession, dataset_id: str, source: DatasetStatus, target: DatasetStatus) -> bool:
    """Move a dataset from `source` to `target` status; False if another worker already did."""
    result = await session.execute(
        update(Dataset)
        .where(Dataset.id == dataset_id, Dataset.status == source)
        .values(status=target, updated_at=utcnow())
    )
    return result.rowcount == 1


async def pending_payload_batches(session: AsyncSession, limit: int) -> list[DatasetBatch]:
    query = (
        select(DatasetBatch)
        .where(DatasetBatch.stored_at.is_(None), DatasetBatch.error.is_(None), DatasetBatch.payload.is_not(None))
        .order_by(DatasetBatch.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def ids_with_status(session: AsyncSession, status: DatasetStatus) -> list[str]:
    return list(await session.scalars(select(Dataset.id).where(Dataset.status == status)))
