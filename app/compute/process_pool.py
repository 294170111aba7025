"""A process pool that heals: CPU-heavy jobs (training, evaluation) run in spawned processes;
when one dies (kill -9, out of memory) the pool is broken for good, so it is replaced and the
job that was running gets `WorkerLost` (its service retries it or fails it with that reason).

Workers also watch their parent: a server killed without warning cannot shut its pool down, and
its orphaned workers (up to ~1 GB each while training) would otherwise live on.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from app.services.jobs import WorkerLost

logger = logging.getLogger("app.compute")
T = TypeVar("T")
PARENT_CHECK_SECONDS = 1.0


class ProcessPoolCompute:
    def __init__(self, workers: int, role: str = "training") -> None:
        self.workers = workers
        self.role = role
        self._pool: ProcessPoolExecutor | None = None
        self._broken_since: float | None = None
        self.replaced = 0

    @property
    def available(self) -> bool:
        """False from a failed replacement of a broken pool until a job succeeds again."""
        return self._broken_since is None

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids (none before the first job starts them)."""
        return [] if self._pool is None else [process.pid for process in (self._pool._processes or {}).values()]

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        pool = self._current()
        try:
            result = await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
        except BrokenProcessPool as exc:
            self._replace(pool)
            raise WorkerLost(f"the {self.role} process died (killed or out of memory)") from exc
        self._broken_since = None
        return result

    def stop(self, wait: bool = False) -> None:
        """Shut the pool down; `wait`: until its idle workers have exited (their finalizers run)."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None

    def _current(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = _new_pool(self.workers)
        return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """Every job of a broken pool fails; only the first to notice builds the new one."""
        if self._pool is not broken:
            return
        broken.shutdown(wait=False, cancel_futures=True)
        try:
            self._pool = _new_pool(self.workers)
            self._broken_since = None
            self.replaced += 1
            logger.warning("a compute worker died; the process pool was replaced", extra={"role": self.role})
        except Exception:
            self._pool, self._broken_since = None, self._broken_since or time.monotonic()
            logger.exception("the process pool could not be replaced")


def _new_pool(workers: int) -> ProcessPoolExecutor:
    # spawn: a fresh interpreter per worker, no inherited event loop, threads or sockets.
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_watch_parent, initargs=(os.getpid(),))


def _watch_parent(parent_pid: int) -> None:
    """In each worker: exit as soon as the process that started it is gone."""

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(PARENT_CHECK_SECONDS)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
