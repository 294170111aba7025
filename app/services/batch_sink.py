"""The consumer side shared by both transports: store batches, dead-letter the unstorable,
then check whether their datasets became complete."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.exc import DataError, IntegrityError, OperationalError, InterfaceError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import transaction
from app.services import datasets as datasets_service
from app.services.datasets import DatasetReadyHook
from app.services.ingestion import PermanentFailure, record_dead_letter, store_envelopes
from app.settings import Settings
from app.transport.base import BatchEnvelope

logger = logging.getLogger("app.ingestion")

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
DeadLetterCallback = Callable[[BatchEnvelope, str], Awaitable[None]]


class BatchSink:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        on_ready: DatasetReadyHook | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.on_ready = on_ready

    async def store(
        self, envelopes: Sequence[BatchEnvelope], on_dead: DeadLetterCallback | None = None
    ) -> None:
        """Store all envelopes (several per transaction); a transient database error propagates so
        the caller retries without acknowledging; a permanent one dead-letters that batch only."""
        try:
            async with transaction(self.sessions) as session:
                touched = await store_envelopes(session, envelopes)
        except TRANSIENT:
            raise
        except Exception:
            if len(envelopes) == 1:
                touched = await self._store_or_dead_letter(envelopes[0], on_dead)
            else:
                touched = set()
                for envelope in envelopes:
                    touched |= await self._store_or_dead_letter(envelope, on_dead)
        await self.after_store(touched)

    async def after_store(self, dataset_ids: set[str]) -> None:
        for dataset_id in sorted(dataset_ids):
            await datasets_service.check_completion(self.sessions, self.settings, dataset_id, self.on_ready)

    async def _store_or_dead_letter(
        self, envelope: BatchEnvelope, on_dead: DeadLetterCallback | None
    ) -> set[str]:
        try:
            async with transaction(self.sessions) as session:
                return await store_envelopes(session, [envelope])
        except TRANSIENT:
            raise
        except (PermanentFailure, IntegrityError, DataError, ValueError) as exc:
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if on_dead is not None:
            await on_dead(envelope, reason)
        async with transaction(self.sessions) as session:
            await record_dead_letter(session, envelope, reason)
        return {envelope.dataset_id}
