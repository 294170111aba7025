"""Readiness: can this process serve (database reachable) and train (a compute worker can start)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.errors import ServiceUnavailable
from app.services.jobs import Compute


async def readiness(sessions: async_sessionmaker[AsyncSession], compute: Compute) -> dict[str, str]:
    try:
        async with sessions() as session:
            await session.execute(text("SELECT 1"))
            dialect = session.bind.dialect.name
    except Exception as exc:
        raise ServiceUnavailable("The database is not reachable.") from exc
    if not compute.available:
        raise ServiceUnavailable("Training is unavailable: its worker processes cannot be started.")
    return {"status": "ready", "database": dialect, "training": "available"}
