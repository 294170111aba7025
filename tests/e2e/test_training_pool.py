"""The training pool heals: a killed worker process costs one attempt, never the service.

Before, one kill -9 of a pool process broke the pool for good: every later training and
evaluation of every company failed until a restart, and /readyz still said ready."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid

import pytest

from app.client import CreditGateClient
from app.compute import process_pool
from app.demo import generate
from tests.e2e.conftest import frames_of, new_client

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def slow_frames():
    """Enough orders that a training runs for a few seconds: time to kill its process."""
    return frames_of(generate(customers=400, orders=30_000, seed=13))


def pool_pids(app) -> list[int]:
    pool = app.state.runtime.compute._pool
    return list(pool._processes) if pool is not None and pool._processes else []


async def running_job(api: CreditGateClient, app, attempt: int, timeout: float = 60) -> dict:
    """The company's job once it runs its `attempt`-th attempt inside a live pool process."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        jobs = await api.training_jobs()
        if jobs and jobs[0]["status"] == "running" and jobs[0]["attempts"] == attempt and pool_pids(app):
            return jobs[0]
        assert asyncio.get_running_loop().time() < deadline, jobs
        await asyncio.sleep(0.05)


def kill_pool(app) -> None:
    for pid in pool_pids(app):
        os.kill(pid, signal.SIGKILL)


async def test_a_killed_training_process_is_replaced_and_the_job_runs_again(app, slow_frames, settings):
    if "postgresql" in settings.database_url:
        pytest.skip("the pool does not depend on the database; once is enough")
    async with await new_client(app) as api:
        dataset = await api.create_dataset("pool")
        await api.upload_frames(dataset["id"], slow_frames)
        await app.state.runtime.batch_queue.drain()
        replaced = app.state.runtime.compute.replaced
        await running_job(api, app, attempt=1)
        kill_pool(app)
        done = await api.wait_for_dataset(dataset["id"], ("trained", "failed"), timeout=180)
        job = (await api.training_jobs())[0]
        assert done["status"] == "trained" and job["status"] == "succeeded" and job["attempts"] == 2, job
        assert app.state.runtime.compute.replaced == replaced + 1
        assert (await api.request("GET", "/readyz"))["training"] == "available"

        # the healed pool serves the next training and an evaluation
        again = await api.train(dataset["id"])
        await app.state.runtime.jobs.wait_idle()
        assert (await api.request("GET", f"/v1/training-jobs/{again['id']}"))["status"] == "succeeded"
        evaluation = await api.evaluate(1, dataset["id"])
        assert evaluation["status"] == "succeeded" and evaluation["metrics"]["roc_auc"] > 0.6


async def test_a_job_whose_process_dies_twice_fails_with_the_reason(app, slow_frames, settings):
    if "postgresql" in settings.database_url:
        pytest.skip("the pool does not depend on the database; once is enough")
    async with await new_client(app) as api:
        dataset = await api.create_dataset("pool twice")
        await api.upload_frames(dataset["id"], slow_frames)
        await app.state.runtime.batch_queue.drain()
        for attempt in (1, 2):
            await running_job(api, app, attempt=attempt)
            kill_pool(app)
        done = await api.wait_for_dataset(dataset["id"], ("trained", "failed"), timeout=120)
        job = (await api.training_jobs())[0]
        assert done["status"] == "failed" and job["status"] == "failed" and job["attempts"] == 2
        assert "training process died" in job["error"] and "retry the training" in job["error"]


async def test_readyz_reports_training_unavailable_while_the_pool_cannot_be_rebuilt(app, settings, monkeypatch):
    compute = app.state.runtime.compute

    def cannot_start(workers):
        raise OSError("fork failed: resource temporarily unavailable")

    async def job_in_a_dying_process():
        return await compute.run(os.getpid)  # forces a live pool

    await job_in_a_dying_process()
    monkeypatch.setattr(process_pool, "_new_pool", cannot_start)
    kill_pool(app)
    with pytest.raises(Exception, match="died"):
        await compute.run(time.sleep, 5)
    from httpx import ASGITransport, AsyncClient

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as http:
        response = await http.get("/readyz")
        assert response.status_code == 503 and "Training is unavailable" in response.json()["detail"]
        monkeypatch.undo()
        await job_in_a_dying_process()  # the pool is built again on the next job
        assert (await http.get("/readyz")).status_code == 200


async def test_pool_processes_exit_when_their_server_is_killed(tmp_path):
    """kill -9 of the server alone (not its process group): its training workers follow it."""
    from app.db.migrations import upgrade
    from tests.conftest import TEST_SECRET
    from tests.processes import AppProcess

    url = f"sqlite+aiosqlite:///{tmp_path / 'orphans.db'}"
    await asyncio.to_thread(upgrade, url)
    env = os.environ | {"CREDITGATE_ENV": "test", "CREDITGATE_JWT_SECRET": TEST_SECRET,
                        "CREDITGATE_DATABASE_URL": url, "CREDITGATE_LOG_LEVEL": "WARNING",
                        "CREDITGATE_DECISION_JOURNAL_DIR": str(tmp_path / "journal")}
    server = AppProcess(env, tmp_path / "app.log")
    await server.start()
    try:
        async with CreditGateClient(server.url, timeout=60) as api:
            await api.register("Orfaos Ltda", f"orphans-{uuid.uuid4().hex[:8]}@example.com")
            dataset = await api.create_dataset("orphans")
            await api.upload_frames(dataset["id"], frames_of(generate(customers=400, orders=30_000, seed=13)))
            deadline = time.monotonic() + 60
            while not (workers := _descendants(server.process.pid)):
                assert time.monotonic() < deadline, "no training worker started"
                await asyncio.sleep(0.05)
            os.kill(server.process.pid, signal.SIGKILL)  # the server only
            server.process.wait()
            deadline = time.monotonic() + 10
            while alive := [pid for pid in workers if _alive(pid)]:
                assert time.monotonic() < deadline, f"orphaned workers still running: {alive}"
                await asyncio.sleep(0.1)
    finally:
        server.stop()


def _descendants(pid: int) -> list[int]:
    try:
        children = [int(c) for c in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        return []
    return children + [d for c in children for d in _descendants(c)]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
