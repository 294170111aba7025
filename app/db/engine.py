"""Engine and session factory: created in the app's lifespan, closed there."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

import orjson
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.db import changes


def _json_dumps(value) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    # hide_parameters: an error's message (logged, and echoed by nothing else) never carries the
    # statement's values - company e-mails, documents, amounts.
    kwargs: dict = {"echo": echo, "json_serializer": _json_dumps, "json_deserializer": orjson.loads,
                    "hide_parameters": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Checkpoint every ~40 MB of WAL instead of every 4 MB, with a 64 MiB page cache: a page the
    # decision log rewrites commit after commit (index pages) is copied into the database once
    # per checkpoint. Committing 500 decisions at 41,000 stored: 43 ms of CPU on average, 26 now
    # (median 40 -> 15; the commit that checkpoints takes ~80 ms).
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
    cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cursor.close()


WAL_AUTOCHECKPOINT_PAGES = 10_000
CACHE_KIB = 64 * 1024


def make_sessionmaker(
    engine: AsyncEngine, listeners: Sequence[changes.ChangeListener] = ()
) -> async_sessionmaker[AsyncSession]:
    """Sessions of one runtime; `listeners` hear of committed company changes (app/db/changes.py)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False,
                              info={changes.LISTENERS: tuple(listeners)})


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work for background jobs: commit on success, roll back on error, then run the
    callbacks registered in ``session.info["after_commit"]`` (work published only once committed)."""
    async with sessions() as session:
        try:
            yield session
            await changes.announce(session)
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        await run_after_commit(session)


async def begin_writing(session: AsyncSession) -> None:
    """Make sure the session's transaction has begun in the database before a SAVEPOINT. The
    sqlite3 driver begins its transaction only at the first INSERT/UPDATE/DELETE; a SAVEPOINT before
    that starts a transaction of its own, and releasing it commits - the outer rollback would then
    leave the savepoint's rows behind. Elsewhere the transaction began with the first statement."""
    if session.bind.dialect.name == "sqlite":
        await session.execute(text("DELETE FROM dataset_batches WHERE 1 = 0"))


def after_commit(session: AsyncSession, callback: Callable[[], Awaitable[None]]) -> None:
    session.info.setdefault("after_commit", []).append(callback)


async def run_after_commit(session: AsyncSession) -> None:
    changes.publish(session)
    for callback in session.info.pop("after_commit", []):
        await callback()
