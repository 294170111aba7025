"""Accepting batches (API side) and storing them exactly once (consumer side)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import cache
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import datasets as datasets_db
from app.db.base import utcnow
from app.db.bulk import bulk_insert
from app.db.datasets import Dataset, DatasetBatch
from app.db.records import TABLES, data_columns
from app.errors import Conflict, InvalidInput, error_entries
from app.schemas.datasets import ITEM_SCHEMAS, BatchIn, BatchReceipt, Item, Kind
from app.services import audit
from app.services.companies import Principal
from app.transport.base import BatchEnvelope, BatchQueue

logger = logging.getLogger("app.ingestion")


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


async def accept_batch(
    session: AsyncSession,
    queue: BatchQueue,
    principal: Principal,
    dataset: Dataset,
    kind: Kind,
    batch: BatchIn,
) -> BatchReceipt:
    existing = await datasets_db.get_batch(session, dataset.id, kind.value, batch.batch_id)
    if existing is not None:
        return _receipt(existing, duplicate=True)
    if dataset.status != "receiving":
        raise Conflict(f"Dataset {dataset.id} is {dataset.status}; it no longer accepts batches.")
    if await datasets_db.kind_is_final(session, dataset.id, kind.value):
        raise Conflict(f"The {kind.value} of dataset {dataset.id} were marked final; start a new dataset.")
    payload = items_adapter(kind).dump_json(batch.items)
    receipt = DatasetBatch(
        company_id=principal.company.id,
        dataset_id=dataset.id,
        kind=kind.value,
        batch_id=batch.batch_id,
        items=len(batch.items),
        final=batch.final,
        accepted_at=utcnow(),
    )
    session.add(receipt)
    await session.flush()
    envelope = BatchEnvelope(
        principal.company.id, dataset.id, kind.value, batch.batch_id, len(batch.items), batch.final, payload
    )
    await queue.submit(session, receipt, envelope)
    _audit_accepted(session, principal, dataset, kind, receipt)
    return _receipt(receipt)


def _audit_accepted(
    session: AsyncSession, principal: Principal, dataset: Dataset, kind: Kind, receipt: DatasetBatch
) -> None:
    summary = {"kind": kind.value, "batch_id": receipt.batch_id, "items": receipt.items, "final": receipt.final}
    audit.record(session, company_id=dataset.company_id, action="batch.accepted", subject_type="dataset",
                 subject_id=dataset.id, summary=summary, actor=principal.jti)
    if receipt.final:
        audit.record(session, company_id=dataset.company_id, action="dataset.kind_completed",
                     subject_type="dataset", subject_id=dataset.id, summary={"kind": kind.value},
                     actor=principal.jti)


def _receipt(batch: DatasetBatch, duplicate: bool = False) -> BatchReceipt:
    return BatchReceipt(
        batch_id=batch.batch_id,
        kind=Kind(batch.kind),
        items=batch.items,
        final=batch.final,
        accepted_at=batch.accepted_at,
        duplicate=duplicate,
    )


class PermanentFailure(Exception):
    """A batch that can never be stored (it goes to the dead letters, not back to the queue)."""


async def store_envelopes(session: AsyncSession, envelopes: Iterable[BatchEnvelope]) -> set[str]:
    """Store several batches in the caller's transaction, each at most once; return dataset ids."""
    rows_by_kind: dict[str, list[tuple]] = defaultdict(list)
    touched: set[str] = set()
    sqlite = session.bind.dialect.name == "sqlite"
    for envelope in envelopes:
        # A redelivered batch still names its dataset: a crash may have come between storing the
        # dataset's last batch and its completion check, which then runs now.
        touched.add(envelope.dataset_id)
        if not await _claim(session, envelope):
            continue
        rows_by_kind[envelope.kind].extend(_rows(envelope, sqlite))
    for kind, rows in rows_by_kind.items():
        columns = ["dataset_id", "company_id", *data_columns(kind)]
        await bulk_insert(session, TABLES[kind], columns, rows)
    return touched


async def _claim(session: AsyncSession, envelope: BatchEnvelope) -> bool:
    """Mark the receipt stored; False when it already was (a redelivery)."""
    where = (
        DatasetBatch.dataset_id == envelope.dataset_id,
        DatasetBatch.kind == envelope.kind,
        DatasetBatch.batch_id == envelope.batch_id,
    )
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
    if dataset.status != "receiving":  # its request never got a 202; never change a validated dataset
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
    return DatasetBatch(
        company_id=envelope.company_id,
        dataset_id=envelope.dataset_id,
        kind=envelope.kind,
        batch_id=envelope.batch_id,
        items=envelope.items,
        final=envelope.final,
        accepted_at=now,
        stored_at=now if stored else None,
        error=error,
    )


def _rows(envelope: BatchEnvelope, sqlite: bool) -> list[tuple]:
    """The payload's rows as tuples for the bulk insert.

    The API validated every item before accepting the batch, so the payload is not validated a
    second time (that doubled the cost of a batch); each value is only checked to be of its
    column's type, so that a record forged on the broker is refused (dead letter), never stored.
    """
    converters = _converters(envelope.kind, sqlite)
    owner = (envelope.dataset_id, envelope.company_id)
    try:
        items = orjson.loads(envelope.payload)
        return [owner + tuple(convert(item[name]) for name, convert in converters) for item in items]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise PermanentFailure(f"payload of batch {envelope.batch_id} is not valid: {exc!r}") from exc


async def record_dead_letter(session: AsyncSession, envelope: BatchEnvelope, reason: str) -> None:
    """Remember a batch that can never be stored, on the dataset, so a person can see why."""
    where = (
        DatasetBatch.dataset_id == envelope.dataset_id,
        DatasetBatch.kind == envelope.kind,
        DatasetBatch.batch_id == envelope.batch_id,
    )
    result = await session.execute(update(DatasetBatch).where(*where).values(error=reason[:2000], payload=None))
    dataset = await session.get(Dataset, envelope.dataset_id)
    if result.rowcount == 0 and dataset is not None:
        session.add(_receipt_row(envelope, stored=False, error=reason[:2000]))
    if dataset is not None:
        audit.record(session, company_id=dataset.company_id, action="batch.dead_lettered",
                     subject_type="dataset", subject_id=dataset.id,
                     summary={"kind": envelope.kind, "batch_id": envelope.batch_id, "reason": reason[:200]})
    logger.error("batch dead-lettered", extra={"dataset_id": envelope.dataset_id, "batch_id": envelope.batch_id,
                                              "reason": reason})


@cache
def _converters(kind: str, sqlite: bool) -> list[tuple[str, Callable[[Any], Any]]]:
    table = TABLES[kind]
    return [(name, _converter(table.c[name].type, table.c[name].nullable, sqlite)) for name in data_columns(kind)]


def _converter(column_type, nullable: bool, sqlite: bool) -> Callable[[Any], Any]:
    if isinstance(column_type, DateTime):  # SQLite keeps SQLAlchemy's text form, "YYYY-MM-DD HH:MM:SS"
        convert = (lambda v: datetime.fromisoformat(v).isoformat(sep=" ")) if sqlite else datetime.fromisoformat
    elif isinstance(column_type, Date):
        convert = (lambda v: date.fromisoformat(v).isoformat()) if sqlite else date.fromisoformat
    elif isinstance(column_type, Boolean):
        convert = _typed(bool)
    elif isinstance(column_type, Integer):
        convert = _typed(int)
    elif isinstance(column_type, Numeric):
        convert = _number
    else:
        convert = _typed(str)
    if nullable:
        return lambda v: None if v is None else convert(v)
    return convert


def _typed(expected: type) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if type(value) is not expected:
            raise TypeError(f"{value!r} is not a {expected.__name__}")
        return value

    return check


def _number(value: Any) -> float:
    if type(value) not in (int, float):
        raise TypeError(f"{value!r} is not a number")
    return float(value)
