"""Bulk inserts, the fastest path each backend offers, inside the caller's transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import polars as pl
from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession


async def bulk_insert(
    session: AsyncSession, table: Table, columns: Sequence[str], rows: Sequence[tuple]
) -> None:
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        raw = await connection.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(table.name, records=rows, columns=list(columns))
    elif dialect == "sqlite":
        raw = await connection.get_raw_connection()
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
        await raw.driver_connection.executemany(sql, rows)
    else:  # SQL Server and others: SQLAlchemy's executemany (fast_executemany on pyodbc)
        await connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


async def insert_frames(session: AsyncSession, table: Table, owner: dict[str, str],
                        frames: AsyncIterator[pl.DataFrame]) -> int:
    """Store every frame (columns named as the table's) in the caller's transaction, the owner's
    columns (dataset, company) added to each row; returns the rows stored. PostgreSQL gets one
    `COPY ... FROM STDIN (FORMAT csv)` fed with each frame as CSV text, so the database parses the
    values and Python never touches a row; SQLite and others get batched inserts. An exception
    raised by `frames` aborts the statement (and the caller rolls the transaction back)."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        return await _copy_csv(connection, table, owner, frames)
    stored = 0
    async for frame in frames:
        with_owner = frame.select(*[pl.lit(value).alias(name) for name, value in owner.items()], pl.all())
        if connection.dialect.name == "sqlite":  # stored as SQLAlchemy writes them: ISO text
            with_owner = with_owner.with_columns(_sqlite_text(name, dtype) for name, dtype in with_owner.schema.items()
                                                 if dtype.is_temporal())
        await bulk_insert(session, table, with_owner.columns, with_owner.rows())
        stored += frame.height
    return stored


async def _copy_csv(connection, table: Table, owner: dict[str, str], frames: AsyncIterator[pl.DataFrame]) -> int:
    stored = 0
    columns: list[str] = []

    async def csv_text() -> AsyncIterator[bytes]:
        nonlocal stored
        async for frame in frames:
            with_owner = frame.select(*[pl.lit(value).alias(name) for name, value in owner.items()], pl.all())
            columns[:] = with_owner.columns
            stored += frame.height
            yield await asyncio.to_thread(_to_csv, with_owner)

    source = csv_text()
    first = await anext(source, None)  # the column list comes with the first frame
    if first is None:
        return 0

    async def everything() -> AsyncIterator[bytes]:
        yield first
        async for chunk in source:
            yield chunk

    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_to_table(table.name, source=everything(), columns=list(columns), format="csv")
    return stored


def _to_csv(frame: pl.DataFrame) -> bytes:
    return frame.write_csv(include_header=False, datetime_format="%Y-%m-%d %H:%M:%S%.6f",
                           date_format="%Y-%m-%d").encode()


def _sqlite_text(name: str, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if dtype == pl.Date:
        return column.dt.to_string("%Y-%m-%d")
    whole = column.dt.to_string("%Y-%m-%d %H:%M:%S")
    return pl.when(column.dt.microsecond() == 0).then(whole).otherwise(
        column.dt.to_string("%Y-%m-%d %H:%M:%S.%6f")).alias(name)
