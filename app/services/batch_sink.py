"""The consumer side shared by both transports: store batches, dead-letter the unstorable,
then check whether their datasets became complete."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import transaction
from app.services import datasets as datasets_service
from app.services.datasets import DatasetReadyHook
from app.services.ingestion import PermanentFailure, record_dead_letter, store_envelopes
from app.settings import Settings
from app.transport.base import BatchEnvelope

logger = logging.getLogger("app.ingestion")

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError, OSError)
# SQLSTATE classes: data exception and integrity violation never go away by retrying; connection,
# transaction rollback (serialization, deadlock), resources and operator intervention do.
PERMANENT_SQLSTATE_CLASSES = {"22", "23"}
TRANSIENT_SQLSTATE_CLASSES = {"08", "40", "53", "57", "58"}
DeadLetterCallback = Callable[[BatchEnvelope, str], Awaitable[None]]


class BatchSink:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        on_ready: DatasetReadyHook | None = None,
        on_company_change: Callable[[str], None] | None = None,
    ) -> None:
        self.on_company_change = on_company_change
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
        except Exception as exc:
            if is_transient(exc):
                raise
            touched = set()  # one batch per transaction now, to dead-letter only the culprit
            for envelope in envelopes:
                touched |= await self._store_or_dead_letter(envelope, on_dead)
        await self.after_store(touched)

    async def after_store(self, dataset_ids: set[str]) -> None:
        """Check whether the datasets became complete. The batches are stored already: a check that
        fails for another reason than database trouble is logged and never holds storing back (it
        runs again with the dataset's next batch and at every start)."""
        for dataset_id in sorted(dataset_ids):
            try:
                status = await datasets_service.check_completion(self.sessions, self.settings, dataset_id,
                                                                 self.on_ready)
            except Exception as exc:
                if is_transient(exc):
                    raise
                logger.exception("completion check failed", extra={"dataset_id": dataset_id})
                continue
            if status == "valid" and self.on_company_change is not None:  # its data version moved
                self.on_company_change(await datasets_service.owner(self.sessions, dataset_id))

    async def _store_or_dead_letter(
        self, envelope: BatchEnvelope, on_dead: DeadLetterCallback | None
    ) -> set[str]:
        try:
            async with transaction(self.sessions) as session:
                return await store_envelopes(session, [envelope])
        except Exception as exc:
            if not is_permanent(exc):
                raise
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if on_dead is not None:
            await on_dead(envelope, reason)
        async with transaction(self.sessions) as session:
            await record_dead_letter(session, envelope, reason)
        return {envelope.dataset_id}


def is_transient(exc: BaseException) -> bool:
    """Database or network trouble: retry later, never dead-letter."""
    sqlstate = _sqlstate(exc)
    if sqlstate is not None:
        return sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES
    return isinstance(exc, TRANSIENT)


def is_permanent(exc: BaseException) -> bool:
    """Storing this batch would fail again whatever the infrastructure does (bad data, or a bug)."""
    if is_transient(exc):
        return False
    sqlstate = _sqlstate(exc)
    if sqlstate is not None:
        return sqlstate[:2] in PERMANENT_SQLSTATE_CLASSES
    return isinstance(exc, (PermanentFailure, IntegrityError, DataError, ArithmeticError, LookupError,
                            TypeError, ValueError, AttributeError))


def _sqlstate(exc: BaseException | None) -> str | None:
    """The SQLSTATE of a database error, also when wrapped by SQLAlchemy (asyncpg sets it)."""
    for _ in range(4):
        if exc is None:
            return None
        sqlstate = getattr(exc, "sqlstate", None)
        if isinstance(sqlstate, str) and len(sqlstate) == 5:
            return sqlstate
        exc = getattr(exc, "orig", None) or exc.__cause__
    return None
