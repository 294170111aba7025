"""Listening to the changes other processes announce (PostgreSQL LISTEN, app/db/changes.py): one
connection per process, reconnected when lost; each notification goes to this process's change
listeners (the authentication cache), so a company changed or a token revoked through another
replica is forgotten here at once, not after the cache TTL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from sqlalchemy.engine import make_url

from app.db import changes
from app.kit import tasks

logger = logging.getLogger("app.db")
RETRY_SECONDS = 1.0


class ChangeFeed:
    def __init__(self, database_url: str, listeners: Sequence[changes.ChangeListener]) -> None:
        self.dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.listeners = tuple(listeners)
        self._task: asyncio.Task | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="change-feed")

    async def stop(self) -> None:
        await tasks.cancel(self._task)
        self._task = None

    async def _run(self) -> None:
        import asyncpg

        while True:
            connection = None
            try:
                connection = await asyncpg.connect(self.dsn)
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _, lost=lost: lost.set())
                await connection.add_listener(changes.CHANNEL, self._notified)
                self.connected.set()
                await lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is down: the cache TTL covers the gap
                logger.warning("change feed unavailable, retrying", extra={"error": repr(exc)})
            finally:
                self.connected.clear()
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.shield(connection.close(timeout=2))
            await asyncio.sleep(RETRY_SECONDS)

    def _notified(self, _connection, _pid: int, _channel: str, payload: str) -> None:
        changes.deliver(self.listeners, payload)
