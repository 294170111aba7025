"""What a decision writer process runs (app/compute/decision_writer.py sends it the work): the
decision log's group commits, from the journal's own lines."""

from __future__ import annotations

import asyncio
from multiprocessing.util import Finalize
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import make_engine, make_sessionmaker, transaction
from app.services.decision_log import LogRecord, insert_records
from app.services.monitoring import Monitor

# One event loop, engine and monitor per database, kept between commits.
Writer = tuple[asyncio.AbstractEventLoop, async_sessionmaker[AsyncSession], Monitor]
_WRITERS: dict[str, Writer] = {}


def write_encoded(database_url: str, payload: bytes) -> list[tuple[str, str | None]]:
    """Insert the journal lines `payload`; (id, supersedes) of each decision inserted."""
    loop, sessions, monitor = _writer(database_url)
    records = [LogRecord.decode(line) for line in payload.splitlines() if line]
    inserted = loop.run_until_complete(_insert(sessions, records, monitor))
    return [(decision["id"], decision["supersedes"]) for decision in inserted]


async def _insert(sessions: async_sessionmaker[AsyncSession], records: list[LogRecord],
                  monitor: Monitor) -> list[dict[str, Any]]:
    async with transaction(sessions) as session:
        return await insert_records(session, records, skip_existing=True, observers=(monitor,))


def _writer(database_url: str) -> Writer:
    if database_url not in _WRITERS:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        engine = make_engine(database_url)
        _WRITERS[database_url] = (loop, make_sessionmaker(engine), Monitor())
        # a pool's worker leaves through os._exit (no atexit): multiprocessing's own finalizers run
        Finalize(None, lambda: loop.run_until_complete(engine.dispose()), exitpriority=10)
    return _WRITERS[database_url]
