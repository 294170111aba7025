"""Per-company version numbers (model versions, policies): the next number is max + 1, and the
(company_id, version) unique constraint settles two transactions that picked the same one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

Row = TypeVar("Row")


async def add_next_version(session: AsyncSession, table: Any, company_id: str, build: Callable[[int], Row],
                           attempts: int = 5) -> Row | None:
    """Add `build(n)` for the company's next version number `n`, in a savepoint; a number taken
    meanwhile by a concurrent transaction is retried with the next one. None after `attempts`."""
    for _ in range(attempts):
        latest = await session.scalar(select(func.max(table.version)).where(table.company_id == company_id))
        row = build(int(latest or 0) + 1)
        try:
            async with session.begin_nested():
                session.add(row)
            return row
        except IntegrityError:  # a concurrent transaction took this number
            continue
    return None
