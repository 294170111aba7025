"""Keyset pages of any query, newest first, for every list endpoint (see app/kit/pagination.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.kit.pagination import PageRequest, decode_cursor, encode_cursor


async def fetch_page(
    session: AsyncSession, query: Select, keys: Sequence[InstrumentedAttribute], page: PageRequest
) -> tuple[list[Any], str | None]:
    """Up to `page.limit` entities of `query` in descending `keys` order, after the cursor; and
    the cursor of the next page (None on the last page). `keys` must identify a row (end with the
    primary key)."""
    if page.cursor is not None:
        after = decode_cursor(page.cursor, [key.type.python_type for key in keys])
        query = query.where(_after(keys, after))
    query = query.order_by(*[key.desc() for key in keys]).limit(page.limit + 1)
    rows = list(await session.scalars(query))
    if len(rows) <= page.limit:
        return rows, None
    last = rows[page.limit - 1]
    return rows[: page.limit], encode_cursor([getattr(last, key.key) for key in keys])


def _after(keys: Sequence[InstrumentedAttribute], values: Sequence[Any]):
    """Rows strictly after `values` in descending order: (a < x) or (a = x and (b < y or ...)).
    Written out rather than as a row-value comparison, which SQL Server does not have."""
    first, rest = keys[0], keys[1:]
    if not rest:
        return first < values[0]
    return or_(first < values[0], and_(first == values[0], _after(rest, values[1:])))
