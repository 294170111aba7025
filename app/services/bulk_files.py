"""Bulk files (API side and storage at once): a CSV or Parquet body is streamed to disk, validated
column-wise chunk by chunk (app/services/file_validation.py) and stored with the database's bulk
path in the request's one transaction, under a receipt whose batch_id is the file's SHA-256: a
retried file answers the first receipt, a crash leaves nothing half-stored. Files do not travel
through the batch queue: a broker is the wrong place for hundreds of megabytes, and the
transaction already gives what the queue's receipts give batches (docs/decisions/0009).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import utcnow
from app.db.bulk import insert_frames
from app.db.datasets import Dataset, DatasetBatch
from app.db.engine import after_commit, transaction
from app.db.records import TABLES
from app.domain.principal import Principal
from app.domain.states import Kind
from app.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from app.kit.failpoints import Failpoints
from app.schemas.datasets import BatchReceipt
from app.services import audit, file_readers, ingestion
from app.services import datasets as datasets_service
from app.services.datasets import DatasetReadyHook
from app.services.file_validation import MAX_ERRORS, check_chunk, header_errors
from app.settings import Settings

logger = logging.getLogger("app.ingestion")

FORMATS = {"text/csv": "csv", "application/csv": "csv", "application/vnd.apache.parquet": "parquet",
           "application/x-parquet": "parquet"}
SPOOL_BUFFER = 4 * 1024 * 1024


@dataclass(frozen=True)
class SpooledFile:
    path: Path
    format: str
    sha256: str
    size: int


class FileRefused(InvalidInput):
    """A file with invalid lines: the first errors and how many there were in all."""

    def __init__(self, errors: list[dict], total: int) -> None:
        first = errors[0]
        super().__init__(f"The file was refused: {total} error(s), e.g. line {first['line']}, field "
                         f"{first['field']}: {first['message']}", errors=errors, extra={"errors_total": total})
        self.total = total


def file_format(content_type: str | None) -> str:
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in FORMATS:
        raise UnsupportedMediaType(
            f"Send the file as text/csv (a header row with the field names) or application/vnd.apache.parquet, "
            f"not {media or 'no Content-Type'}.")
    return FORMATS[media]


class FileIngestion:
    """Accepts files; owns the background completion checks that follow a stored file."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings,
                 on_ready: DatasetReadyHook | None = None) -> None:
        self.sessions = sessions
        self.settings = settings
        self.on_ready = on_ready
        self._tasks: set[asyncio.Task] = set()
        self._failpoints = Failpoints(settings.failpoints, settings.failpoints_marker)

    async def accept(self, session: AsyncSession, principal: Principal, dataset: Dataset, kind: Kind,
                     body: AsyncIterator[bytes], content_type: str | None, final: bool) -> BatchReceipt:
        file_format_ = file_format(content_type)
        async with self.spooled(body, file_format_) as spooled:
            try:
                return await self._store(session, principal, dataset, kind, spooled, final)
            except InvalidInput as exc:
                ids = (principal.company.id, dataset.id, principal.jti)
                await session.rollback()  # frees SQLite's write lock for the refusal's own transaction
                await self._record_refusal(ids, kind, spooled, exc)
                raise

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @asynccontextmanager
    async def spooled(self, body: AsyncIterator[bytes], file_format_: str) -> AsyncIterator[SpooledFile]:
        """The body on disk (written and hashed off the event loop, 4 MiB at a time), removed after."""
        directory = self.settings.upload_dir or None
        if directory:
            await asyncio.to_thread(os.makedirs, directory, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix="creditgate-upload-", suffix=f".{file_format_}", dir=directory)
        path, digest, size, buffer = Path(name), hashlib.sha256(), 0, bytearray()
        try:
            with os.fdopen(handle, "wb") as out:
                async for chunk in body:
                    size += len(chunk)
                    if size > self.settings.max_file_bytes:
                        raise PayloadTooLarge(f"The file exceeds the limit of {self.settings.max_file_bytes} bytes.")
                    buffer += chunk
                    if len(buffer) >= SPOOL_BUFFER:
                        await asyncio.to_thread(_write, out, digest, bytes(buffer))
                        buffer.clear()
                await asyncio.to_thread(_write, out, digest, bytes(buffer))
            if size == 0:
                raise InvalidInput("The file is empty.", errors=[{"field": "body", "message": "empty file"}])
            yield SpooledFile(path, file_format_, digest.hexdigest(), size)
        finally:
            await asyncio.to_thread(path.unlink, True)

    async def _store(self, session: AsyncSession, principal: Principal, dataset: Dataset, kind: Kind,
                     spooled: SpooledFile, final: bool) -> BatchReceipt:
        now = utcnow()
        receipt = DatasetBatch(company_id=principal.company.id, dataset_id=dataset.id, kind=kind.value,
                               batch_id=f"file-{spooled.sha256}", items=0, final=final,
                               digest=ingestion.batch_digest(spooled.sha256.encode(), final), accepted_at=now)
        existing = await ingestion.claim_receipt(session, dataset, kind, receipt)
        if existing is not None:
            return existing
        owner = {"dataset_id": dataset.id, "company_id": principal.company.id}
        frames = self._validated(kind, spooled)
        receipt.items = await insert_frames(session, TABLES[kind.value], owner, frames)
        receipt.stored_at = utcnow()
        ingestion.audit_accepted(session, principal, dataset, kind, receipt, format=spooled.format,
                                 bytes=spooled.size)
        after_commit(session, self._completion_check(dataset.id))
        logger.info("file stored", extra={"dataset_id": dataset.id, "kind": kind.value, "rows": receipt.items,
                                           "bytes": spooled.size})
        return ingestion.receipt_of(receipt)

    async def _validated(self, kind: Kind, spooled: SpooledFile) -> AsyncIterator[pl.DataFrame]:
        """Each chunk's values while every line so far is valid; after the first invalid line the
        rest is still read, to count its errors, and the file is refused (the caller's statement
        and transaction abort). Polars works in a thread; it releases the GIL while it does."""
        total, first_errors, sent = 0, [], 0
        try:
            errors = header_errors(kind, await asyncio.to_thread(file_readers.columns, spooled.path, spooled.format))
            if errors:
                raise FileRefused(errors[:MAX_ERRORS], len(errors))
            reader = file_readers.chunks(spooled.path, spooled.format, self.settings.file_chunk_bytes)
            while checked := await asyncio.to_thread(_next_checked, reader, kind, MAX_ERRORS - len(first_errors)):
                total += checked.error_count
                first_errors += checked.errors
                if total == 0:
                    yield checked.frame
                    sent += 1
                    if sent == 2:
                        await self._failpoints.reach("files.storing")  # a crash test kills the process here
        except file_readers.UnreadableFile as exc:
            entry = {"line": exc.line, "field": None, "message": exc.message, "type": "unreadable",
                     "loc": [exc.line]}
            raise FileRefused([*first_errors, entry][:MAX_ERRORS], total + 1) from exc
        if total:
            raise FileRefused(first_errors, total)

    def _completion_check(self, dataset_id: str) -> Callable[[], Coroutine[Any, Any, None]]:
        """After the commit, check in the background whether the dataset became complete (its
        integrity check reads every row); a crash before it runs is caught at the next start."""
        async def spawn() -> None:
            task = asyncio.create_task(self._check(dataset_id), name=f"completion-{dataset_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return spawn

    async def _check(self, dataset_id: str) -> None:
        try:
            await datasets_service.check_completion(self.sessions, self.settings, dataset_id, self.on_ready)
        except Exception:
            logger.exception("completion check after a file failed", extra={"dataset_id": dataset_id})

    async def _record_refusal(self, ids: tuple[str, str, str], kind: Kind, spooled: SpooledFile,
                              exc: InvalidInput) -> None:
        company_id, dataset_id, actor = ids
        summary = {"kind": kind.value, "format": spooled.format, "bytes": spooled.size,
                   "errors": getattr(exc, "total", len(exc.errors or [])),
                   "lines_with_errors": len({e.get("line") for e in exc.errors or []})}
        async with transaction(self.sessions) as session:
            audit.record(session, company_id=company_id, action="batch.refused", subject_type="dataset",
                         subject_id=dataset_id, summary=summary, actor=actor)


def _write(out, digest, data: bytes) -> None:
    out.write(data)
    digest.update(data)


def _next_checked(reader, kind: Kind, limit: int):
    item = next(reader, None)
    if item is None:
        return None
    first_line, raw = item
    return check_chunk(kind, raw, first_line, max(limit, 0))
