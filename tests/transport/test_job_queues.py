"""One contract for every job queue: the in-process queue and Kafka (a real Tansu broker) both
hand each submitted job to the handler, survive a failing handler, resume what a crash left
queued or running, and report idleness."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest_asyncio

from app.domain.states import JobKind
from app.services.jobs import JobQueue, JobRef
from app.transport.inprocess import InProcessJobQueue
from tests.conftest import make_settings

QueueFactory = Callable[[], JobQueue]


@pytest_asyncio.fixture(params=["inprocess", "kafka"])
async def new_queue(request, kafka_bootstrap) -> AsyncIterator[QueueFactory]:
    """Makes queues that share one backlog, as the processes of one deployment do; all stopped at the end."""
    made: list[JobQueue] = []
    if request.param == "inprocess":
        def factory() -> JobQueue:
            made.append(InProcessJobQueue(concurrency=1))
            return made[-1]
    else:
        from app.transport.kafka_jobs import KafkaJobQueue

        settings = make_settings("sqlite+aiosqlite://", kafka_bootstrap_servers=kafka_bootstrap,
                                 kafka_topic_prefix=f"jobs-{uuid.uuid4().hex[:8]}",
                                 kafka_group_id=f"group-{uuid.uuid4().hex[:8]}")

        def factory() -> JobQueue:
            made.append(KafkaJobQueue(settings))
            return made[-1]
    yield factory
    for queue in made:
        await queue.stop()


def job(company: str = "A") -> JobRef:
    return JobRef(JobKind.training, uuid.uuid4().hex, company)


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_every_submitted_job_reaches_the_handler(new_queue):
    handled: list[JobRef] = []

    async def handler(ref: JobRef) -> None:
        handled.append(ref)

    queue = new_queue()
    await queue.start(handler)
    jobs = [job("A"), job("B"), job("A"), JobRef(JobKind.evaluation, uuid.uuid4().hex, "C")]
    for ref in jobs:
        await queue.submit(ref)
    await until(lambda: len(handled) >= len(jobs))
    assert sorted(handled, key=lambda r: r.id) == sorted(jobs, key=lambda r: r.id)
    await queue.wait_idle()


async def test_a_failing_handler_does_not_stop_the_queue(new_queue):
    handled: list[str] = []
    failing = job()

    async def handler(ref: JobRef) -> None:
        handled.append(ref.id)
        if ref == failing:
            raise RuntimeError("a bug in one job")

    queue = new_queue()
    await queue.start(handler)
    after = job()
    await queue.submit(failing)
    await queue.submit(after)
    await until(lambda: after.id in handled)
    assert failing.id in handled


async def test_queued_jobs_are_handled_after_a_restart(new_queue):
    handled: list[JobRef] = []

    async def handler(ref: JobRef) -> None:
        handled.append(ref)

    queue = new_queue()
    await queue.start(handler)
    left = job()
    await queue.resume([left], [])  # a job committed as queued whose submission never happened
    await until(lambda: left in handled)


async def test_a_job_interrupted_mid_run_runs_again_in_the_next_process(new_queue):
    interrupted = job()
    started = asyncio.Event()

    async def hangs(ref: JobRef) -> None:
        started.set()
        await asyncio.Event().wait()  # never finishes: the process dies first

    first = new_queue()
    await first.start(hangs)
    await first.submit(interrupted)
    await asyncio.wait_for(started.wait(), 30)
    await first.stop()  # the process dies mid-job

    handled: list[JobRef] = []

    async def handler(ref: JobRef) -> None:
        handled.append(ref)

    second = new_queue()
    await second.start(handler)
    await second.resume([], [interrupted])  # its row still says running
    await until(lambda: interrupted in handled, timeout=60)


async def test_in_process_runners_take_companies_in_turn():
    """One company's burst of jobs does not starve another's: the runner takes companies in turn,
    so B's single job runs after at most one more of A's, not after all of them."""
    handled: list[str] = []
    release = asyncio.Event()

    async def handler(ref: JobRef) -> None:
        await release.wait()
        handled.append(ref.company_id)

    queue = InProcessJobQueue(concurrency=1)
    await queue.start(handler)
    try:
        for _ in range(6):
            await queue.submit(job("A"))
        await asyncio.sleep(0.05)  # the runner holds A's first job
        await queue.submit(job("B"))
        release.set()
        await until(lambda: len(handled) == 7)
        assert handled.index("B") <= 2, handled
        assert handled.count("A") == 6
    finally:
        await queue.stop()
