"""Decisions leave the request path without ever being lost.

A decision (with its audit event) is appended to a local journal file with one `write` call — in
the kernel's page cache it survives the process being killed — and the response goes out. A
background task writes what accumulated to the database in one transaction (group commit), then
deletes the journal segments it covered. At start, journals left by a dead process (their owner's
lock is free) are replayed; rows already in the database are skipped by decision id.

Without a journal directory the same writer runs, but each request waits for the group commit
that holds its decision (durable before the response, at the cost of the commit's latency).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import orjson
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.audit import AuditEvent
from app.db.decisions import Decision, orders_decisions
from app.db.engine import transaction
from app.kit import tasks

logger = logging.getLogger("app.decisions")
MAX_PER_COMMIT = 2_000
RETRY_SECONDS = 1.0
GATHER_SECONDS = 0.02
"""With a journal, the writer lets decisions accumulate this long before a commit: one commit per
request under load cost more CPU than the decisions it wrote. Without one, requests wait for
their commit, so it commits at once."""


class Observer(Protocol):
    """Work done with the decisions in the transaction that inserts them (monitoring counts)."""

    async def observe(self, session: AsyncSession, decisions: list[dict[str, Any]]) -> None: ...


class Follower(Protocol):
    """Work done with the decisions once they are committed, in a follower's own time (challengers
    in shadow): `committed` only hands them over; `flush` waits until what was handed is done."""

    def committed(self, decisions: list[dict[str, Any]]) -> None: ...

    async def flush(self) -> None: ...


class Writer(Protocol):
    """Where a group commit runs: `insert` stores the records (skipping decision ids already
    stored) in one transaction with the observers' work and returns the decisions inserted."""

    async def insert(self, records: list[LogRecord]) -> list[dict[str, Any]]: ...

    async def stop(self) -> None: ...


class InlineWriter:
    """Commits in this process, on its event loop."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], observers: tuple[Observer, ...] = ()) -> None:
        self.sessions = sessions
        self.observers = observers

    async def insert(self, records: list[LogRecord]) -> list[dict[str, Any]]:
        async with transaction(self.sessions) as session:
            return await insert_records(session, records, skip_existing=True, observers=self.observers)

    async def stop(self) -> None:
        pass


@dataclass
class LogRecord:
    decision: dict[str, Any]
    audit: dict[str, Any] | None = None
    done: asyncio.Future | None = field(default=None, compare=False)
    line: bytes | None = field(default=None, compare=False, repr=False)
    """The record as the journal holds it, once encoded (a writer process reads the same bytes)."""

    def encode(self) -> bytes:
        if self.line is None:
            self.line = orjson.dumps({"decision": self.decision, "audit": self.audit}) + b"\n"
        return self.line

    @classmethod
    def decode(cls, line: bytes) -> LogRecord:
        raw = orjson.loads(line)
        decision = raw["decision"] | {"created_at": datetime.fromisoformat(raw["decision"]["created_at"])}
        audit = raw["audit"]
        if audit is not None:
            audit = audit | {"created_at": datetime.fromisoformat(audit["created_at"])}
        return cls(decision, audit)


class DecisionLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], directory: Path | None,
                 observers: tuple[Observer, ...] = (), followers: tuple[Follower, ...] = (),
                 writer: Writer | None = None) -> None:
        self.sessions = sessions
        self.directory = directory
        self.observers = observers
        self.followers = followers
        self.writer = writer or InlineWriter(sessions, observers)
        self.owner = uuid.uuid4().hex
        self._pending: list[LogRecord] = []
        self._closed_segments: list[Path] = []
        self._segment: Path | None = None
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._sequence = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._flush_now = asyncio.Event()
        self._flushing = 0
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self.directory / f"{self.owner}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            await self.recover()
            self._rotate()
        self._task = asyncio.create_task(self._run(), name="decision-log-writer")

    async def stop(self, timeout: float = 10.0) -> None:
        with contextlib.suppress(TimeoutError):  # what is left stays in the journal for the next start
            await asyncio.wait_for(self.flush(), timeout)
        await tasks.cancel(self._task)
        self._task = None
        await self.writer.stop()
        if self._fd is not None:
            os.close(self._fd)
            if not self._pending:
                self._segment.unlink(missing_ok=True)
        if self._lock_fd is not None:
            if not self._pending:
                (self.directory / f"{self.owner}.lock").unlink(missing_ok=True)
            os.close(self._lock_fd)

    async def write(self, records: list[LogRecord]) -> None:
        """Durable when this returns: in the journal, or (without one) committed to the database."""
        if self._fd is not None:
            os.write(self._fd, b"".join(r.encode() for r in records))
            self._enqueue(records)
            return
        future = asyncio.get_running_loop().create_future()
        records[-1].done = future
        self._enqueue(records)
        await future

    async def flush(self) -> None:
        """Wait until everything appended so far is in the database, with what its followers do
        with it (read-your-writes)."""
        while not self._idle.is_set():
            self._flushing += 1
            self._flush_now.set()
            self._wake.set()
            try:
                await self._idle.wait()
            finally:
                self._flushing -= 1
        for follower in self.followers:
            await follower.flush()

    async def _gather(self) -> None:
        """Let decisions accumulate for up to GATHER_SECONDS, unless a reader is flushing or a full
        commit already waits."""
        self._flush_now.clear()
        if len(self._pending) < MAX_PER_COMMIT:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), GATHER_SECONDS)

    def _enqueue(self, records: list[LogRecord]) -> None:
        self._pending.extend(records)
        self._idle.clear()
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                if self._fd is not None and not self._flushing:
                    await self._gather()
                try:
                    await self._commit_pending()
                except Exception:
                    logger.exception("decisions not written yet, retrying")
                    await asyncio.sleep(RETRY_SECONDS)
            self._idle.set()

    async def _commit_pending(self) -> None:
        batch, self._pending = self._pending[:MAX_PER_COMMIT], self._pending[MAX_PER_COMMIT:]
        covered: list[Path] = []
        if self._fd is not None and not self._pending:
            # New appends go to a new segment; every record of the closed ones is committed or in `batch`.
            self._rotate()
            covered = list(self._closed_segments)
        try:
            inserted = await self.writer.insert(batch)
        except BaseException as exc:
            self._pending[:0] = batch
            for record in batch:
                if record.done is not None and not isinstance(exc, Exception):
                    record.done.cancel()
            raise
        self._hand_over(inserted)
        for record in batch:
            if record.done is not None and not record.done.done():
                record.done.set_result(None)
        for segment in covered:
            segment.unlink(missing_ok=True)
            self._closed_segments.remove(segment)

    def _hand_over(self, inserted: list[dict[str, Any]]) -> None:
        if inserted:
            for follower in self.followers:
                follower.committed(inserted)

    def _rotate(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._closed_segments.append(self._segment)
        self._sequence += 1
        self._segment = self.directory / f"{self.owner}-{self._sequence:08d}.jsonl"
        self._fd = os.open(self._segment, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)

    async def recover(self) -> int:
        """Replay the journals of owners that died (their lock file is no longer locked)."""
        replayed = 0
        for lock_path in sorted(self.directory.glob("*.lock")):
            owner = lock_path.stem
            if owner == self.owner or (lock_fd := _try_lock(lock_path)) is None:
                continue
            try:  # holding the dead owner's lock, so no other starting process replays it too
                for segment in sorted(self.directory.glob(f"{owner}-*.jsonl")):
                    records = _read_segment(segment)
                    async with transaction(self.sessions) as session:
                        inserted = await insert_records(session, records, skip_existing=True,
                                                        observers=self.observers)
                    self._hand_over(inserted)
                    replayed += len(inserted)
                    segment.unlink()
                lock_path.unlink(missing_ok=True)
            finally:
                os.close(lock_fd)
        if replayed:
            logger.warning("decisions recovered from the journal", extra={"decisions": replayed})
        return replayed


async def insert_records(session: AsyncSession, records: list[LogRecord], *, skip_existing: bool,
                         observers: tuple[Observer, ...] = ()) -> list[dict[str, Any]]:
    """Insert the decisions (and their audit events). A decision id already stored is skipped: a
    replayed journal, or the same request decided the same way by another replica (decision ids
    are derived from the request, app/services/decisions.py). A decision of an order decided before
    names the one it supersedes. The same id twice in `records` (two identical requests decided at
    once, before either was remembered) is stored once, with both requests' audit events. The
    observers see exactly the decisions inserted, in the same transaction (monitoring counts each
    decision once); they are returned."""
    unique: dict[str, LogRecord] = {}
    repeated_events: list[tuple[str, dict]] = []
    for record in records:
        decision_id = record.decision["id"]
        if decision_id not in unique:
            unique[decision_id] = record
        elif record.audit is not None:
            repeated_events.append((decision_id, record.audit))
    records = list(unique.values())
    if skip_existing and records:
        ids = [r.decision["id"] for r in records]
        existing = set(await session.scalars(select(Decision.id).where(Decision.id.in_(ids))))
        records = [r for r in records if r.decision["id"] not in existing]  # stored with their events
        repeated_events = [(i, event) for i, event in repeated_events if i not in existing]
    if not records:
        return []
    await _fill_supersedes(session, records)
    await session.execute(insert(Decision.__table__), [r.decision for r in records])
    events = [r.audit for r in records if r.audit is not None] + [event for _, event in repeated_events]
    for observer in observers:
        await observer.observe(session, [r.decision for r in records])
    if events:
        await session.execute(insert(AuditEvent.__table__), events)
    return [r.decision for r in records]


def _try_lock(path: Path) -> int | None:
    """An open descriptor holding the lock, or None when its owner is alive."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        os.close(fd)
        return None


def _read_segment(path: Path) -> list[LogRecord]:
    records = []
    for line in path.read_bytes().splitlines():
        try:
            records.append(LogRecord.decode(line))
        except (orjson.JSONDecodeError, KeyError, ValueError):
            logger.error("unreadable journal line skipped", extra={"segment": str(path)})  # a torn last write
    return records


NEWER_COLUMNS = ("decided_by", "policy_version", "request_digest", "supersedes")


def _with_newer_columns(decision: dict[str, Any]) -> None:
    for column in NEWER_COLUMNS:
        decision.setdefault(column, None)


def adopt_inserted(records: list[LogRecord], stored: list[tuple[str, str | None]]) -> list[dict[str, Any]]:
    """The decisions of `records` that another process inserted (`stored`: the id and what it
    supersedes of each), completed as `insert_records` completes them in place: the first record
    of an id, the newer columns, what it supersedes."""
    first: dict[str, dict[str, Any]] = {}
    for record in records:
        first.setdefault(record.decision["id"], record.decision)
    inserted = []
    for decision_id, supersedes in stored:
        decision = first[decision_id]
        _with_newer_columns(decision)
        decision["supersedes"] = supersedes
        inserted.append(decision)
    return inserted


async def _fill_supersedes(session: AsyncSession, records: list[LogRecord]) -> None:
    """Set `supersedes` where the deciding process did not know the order's previous decision
    (made by another replica, or before a restart): the latest stored one, or an earlier record of
    the same batch."""
    wanted: dict[str, set[str]] = {}
    for record in records:
        _with_newer_columns(record.decision)  # a journal written before these columns existed
        if record.decision.get("supersedes") is None:
            wanted.setdefault(record.decision["company_id"], set()).add(record.decision["order_id"])
    newest: dict[tuple[str, str], tuple[datetime, str]] = {}
    for company_id, order_ids in wanted.items():
        for order_id, decision_id, created_at in await session.execute(orders_decisions(company_id, sorted(order_ids))):
            key = (company_id, order_id)
            if key not in newest or (created_at, decision_id) > newest[key]:
                newest[key] = (created_at, decision_id)
    latest = {key: decision_id for key, (_, decision_id) in newest.items()}
    for record in records:
        key = (record.decision["company_id"], record.decision["order_id"])
        if record.decision.get("supersedes") is None and latest.get(key) not in (None, record.decision["id"]):
            record.decision["supersedes"] = latest[key]
        latest[key] = record.decision["id"]
