"""The CLI against a real server: the app as a uvicorn process on a fresh SQLite database.

The CLI runs in process (`app.cli.main(argv)` in a worker thread, its own event loop, output
captured) or as a subprocess where a test needs a real signal or the real entry point.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.cli import main
from app.db.migrations import upgrade
from app.demo import generate, write
from app.transport.local_broker import free_port
from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
DEAD_URL = "http://127.0.0.1:9"  # nothing listens on the discard port


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def cli(*argv: str) -> Run:
    """`creditgate ARGV` in this process; an unexpected exception fails the test (a traceback)."""
    out, err = io.StringIO(), io.StringIO()

    def call() -> int:
        try:
            return main(list(argv))
        except SystemExit as exc:  # argparse
            return exc.code if isinstance(exc.code, int) else 2

    with redirect_stdout(out), redirect_stderr(err), ThreadPoolExecutor(1) as pool:
        code = pool.submit(call).result()
    run = Run(code, out.getvalue(), err.getvalue())
    assert "Traceback" not in run.text, run.text
    return run


def cli_process(*argv: str, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
    """`creditgate ARGV` as its own process, through the real entry point."""
    done = subprocess.run([sys.executable, "-m", "app.cli", *argv], cwd=ROOT, capture_output=True, text=True,
                          env=os.environ | (env or {}), timeout=timeout)
    return Run(done.returncode, done.stdout, done.stderr)


@dataclass(frozen=True)
class Server:
    url: str
    database: Path

    def get(self, path: str, token: str, **params) -> dict:
        response = httpx.get(self.url + path, params=params, headers={"Authorization": f"Bearer {token}"},
                             timeout=30)
        response.raise_for_status()
        return response.json()

    def receipts(self, token: str, dataset_id: str) -> set[str]:
        ids, params = set(), {"limit": 500}
        while True:
            page = self.get(f"/v1/datasets/{dataset_id}/batches", token, **params)
            ids |= {receipt["batch_id"] for receipt in page["items"]}
            if page["next_cursor"] is None:
                return ids
            params["cursor"] = page["next_cursor"]

    def wait_stored(self, token: str, dataset_id: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dataset = self.get(f"/v1/datasets/{dataset_id}", token)
            if dataset["status"] not in ("receiving", "validating"):
                return dataset
            time.sleep(0.2)
        pytest.fail(f"dataset {dataset_id} was not validated in {timeout} s")


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    folder = tmp_path_factory.mktemp("cli-server")
    database = folder / "creditgate.db"
    url = f"sqlite+aiosqlite:///{database}"
    with ThreadPoolExecutor(1) as pool:  # alembic runs its own event loop
        pool.submit(upgrade, url).result()
    env = os.environ | {
        "CREDITGATE_ENV": "test", "CREDITGATE_JWT_SECRET": TEST_SECRET, "CREDITGATE_DATABASE_URL": url,
        "CREDITGATE_LOG_LEVEL": "WARNING", "CREDITGATE_TRAINING_THREADS": "1", "CREDITGATE_KAFKA_BOOTSTRAP_SERVERS": "",
        "CREDITGATE_MIN_ORDERS_PER_OUTCOME": "5", "CREDITGATE_DECISION_JOURNAL_DIR": str(folder / "journal"),
        "CREDITGATE_RATE_LIMIT_REGISTRATIONS": "", "CREDITGATE_RATE_LIMIT_TOKENS": "",
    }
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--no-access-log", "--log-level", "warning"]
    with (folder / "app.log").open("ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", process)
        yield Server(f"http://127.0.0.1:{port}", database)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the app exited with {process.returncode}"
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail("the app did not become healthy")


def register(server: Server) -> str:
    """A new company through the CLI; its token."""
    run = cli("register", "--url", server.url, "--name", "Distribuidora CLI Ltda",
              "--email", f"cli-{uuid.uuid4().hex[:10]}@example.com.br")
    assert run.code == 0, run.text
    last = run.out.strip().splitlines()[-1]
    assert last.startswith("export CREDITGATE_TOKEN=")
    return last.split("=", 1)[1]


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """Small demo data (several batches of orders), written as CSV and Parquet."""
    return generate(customers=300, orders=2_000, seed=5)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory, demo) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    write(demo, folder)
    return folder


@pytest.fixture
def csv_dir(tmp_path, demo_dir) -> Path:
    """A copy of the demo's CSV files only, for a test to change."""
    folder = tmp_path / "csv"
    folder.mkdir()
    for path in demo_dir.glob("*.csv"):
        (folder / path.name).write_bytes(path.read_bytes())
    return folder
