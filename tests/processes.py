"""The real app as an operating-system process, for tests that kill it without warning."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.transport.local_broker import free_port

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable  # the venv interpreter running the tests (.venv/bin/python)


async def sqlite_app(tmp_path: Path, name: str) -> AppProcess:
    """An API process (not started) on a freshly migrated SQLite file in `tmp_path`, with its own
    decision journal: what the crash tests kill and start again."""
    from app.db.migrations import upgrade
    from tests.conftest import TEST_SECRET

    url = f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}"
    await asyncio.to_thread(upgrade, url)
    env = {"CREDITGATE_ENV": "test", "CREDITGATE_JWT_SECRET": TEST_SECRET, "CREDITGATE_DATABASE_URL": url,
           "CREDITGATE_LOG_LEVEL": "WARNING", "CREDITGATE_TRAINING_THREADS": "1",
           "CREDITGATE_DECISION_JOURNAL_DIR": str(tmp_path / "journal")}
    return AppProcess(os.environ | env, tmp_path / "app.log")


class AppProcess:
    """`uvicorn app.main:create_app --factory` in its own process group, killed without warning."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("ab")
        self.process: subprocess.Popen | None = None
        self.up = asyncio.Event()
        self.kills = 0

    async def start(self) -> None:
        command = [str(PYTHON), "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
                   "--port", str(self.port), "--no-access-log", "--log-level", "warning"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        await self.wait_healthy()
        self.up.set()

    async def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as http:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, f"the app exited with {self.process.returncode}"
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        pytest.fail("the app did not become healthy")

    def kill(self) -> None:
        self.up.clear()
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.kills += 1

    async def restart(self) -> None:
        self.kill()
        await self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
