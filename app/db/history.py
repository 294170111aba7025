"""Reading uploaded history back: a whole dataset (training, evaluation) or one customer (decisions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.datasets import Dataset
from app.db.records import TABLES, data_columns
from app.domain.states import USABLE_DATASET_STATUSES


@dataclass(frozen=True)
class Rows:
    """Rows of one kind, column-named, ready to become a data frame."""

    columns: list[str]
    rows: list[tuple]


def _select(table: Table):
    return select(*[table.c[name] for name in data_columns(table.name)])


async def dataset_rows(session: AsyncSession, dataset_id: str) -> dict[str, Rows]:
    out = {}
    for kind, table in TABLES.items():
        query = _select(table).where(table.c.dataset_id == dataset_id).order_by(table.c.id)
        result = await session.execute(query)
        out[kind] = Rows(data_columns(kind), [tuple(r) for r in result])
    return out


async def customer_rows(
    session: AsyncSession, company_id: str, customer_ids: Sequence[str]
) -> dict[str, Rows]:
    """Everything the company uploaded about these customers, in any of its valid datasets.

    Rows come oldest upload first; rows repeated across datasets (the same history uploaded twice)
    are returned once per dataset and the caller de-duplicates by natural key, keeping the last.
    """
    valid = select(Dataset.id).where(
        Dataset.company_id == company_id, Dataset.status.in_(USABLE_DATASET_STATUSES)
    )
    out = {}
    for kind, table in TABLES.items():
        query = (
            _select(table)
            .where(
                table.c.company_id == company_id,
                table.c.customer_id.in_(list(customer_ids)),
                table.c.dataset_id.in_(valid),
            )
            .order_by(table.c.id)
        )
        result = await session.execute(query)
        out[kind] = Rows(data_columns(kind), [tuple(r) for r in result])
    return out


def dataset_rows_sqlite(path: str, dataset_id: str) -> dict[str, Rows]:
    """The same rows as `dataset_rows`, read with the standard library in a worker process.

    SQLite keeps dates as ISO text; SQLAlchemy parses them one value at a time, which dominated
    reading a million orders. Returned as text, they are parsed column-wise by `ml.schema.conform`.
    """
    import sqlite3

    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        out = {}
        for kind in TABLES:
            columns = data_columns(kind)
            sql = f"SELECT {', '.join(columns)} FROM {kind} WHERE dataset_id = ? ORDER BY id"
            out[kind] = Rows(columns, connection.execute(sql, (dataset_id,)).fetchall())
        return out
    finally:
        connection.close()
