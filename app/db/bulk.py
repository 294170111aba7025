"""Bulk inserts, the fastest path each backend offers, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence

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
