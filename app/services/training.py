"""Training jobs: queued when a training dataset becomes valid (or on request), run in a process
pool, resumed after a crash, each success recorded as a new model version."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import models as models_db
from app.db.base import utcnow
from app.db.datasets import Dataset
from app.db.engine import after_commit, transaction
from app.db.models import TrainingJob
from app.errors import Conflict, NotFound
from app.ml.training import TrainConfig
from app.services import audit, training_worker
from app.services.companies import Principal
from app.services.models import record_version
from app.settings import Settings
from app.transport.kafka_jobs import KafkaJobQueue

logger = logging.getLogger("app.training")
TRAINABLE = ("valid", "trained", "failed")


def make_pool(settings: Settings) -> ProcessPoolExecutor:
    # spawn: a fresh interpreter per worker, no inherited event loop, threads or sockets.
    return ProcessPoolExecutor(settings.training_workers, mp_context=multiprocessing.get_context("spawn"))


def train_config(settings: Settings) -> TrainConfig:
    return TrainConfig(holdout_fraction=settings.holdout_fraction, nthread=settings.training_threads)


class TrainingRunner:
    """Runs jobs in the process pool; `dispatch` is how a committed job is started."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings,
                 pool: ProcessPoolExecutor, kafka: KafkaJobQueue | None = None,
                 on_company_change: Callable[[str], None] | None = None) -> None:
        self.on_company_change = on_company_change
        self.sessions = sessions
        self.settings = settings
        self.pool = pool
        self.kafka = kafka
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        """Resume what a crash interrupted. In-process: queued jobs and jobs left running. With
        Kafka, a job left running is redelivered by the broker (its offset was never committed);
        only queued jobs whose publication may have failed are published again."""
        if self.kafka is not None:
            await self.kafka.start(self.run)
        async with self.sessions() as session:
            jobs = await models_db.unfinished_jobs(session)
        for job in jobs:
            if self.kafka is not None and job.status == "running":
                continue
            logger.info("resuming training job", extra={"job_id": job.id, "status": job.status})
            await self.dispatch(job.id, job.company_id)

    async def stop(self) -> None:
        if self.kafka is not None:
            await self.kafka.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def dispatch(self, job_id: str, company_id: str) -> None:
        if self.kafka is not None:
            await self.kafka.publish(job_id, company_id)
            return
        task = asyncio.create_task(self.run(job_id), name=f"training-{job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_idle(self) -> None:
        """Wait for every running job (tests and tools)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def on_dataset_ready(self, session: AsyncSession, dataset: Dataset) -> None:
        """Hook called in the transaction that marks a dataset valid."""
        if dataset.purpose != "training" or not self.settings.auto_train:
            return
        await queue_job(session, self, dataset, actor=audit.SYSTEM_ACTOR)

    async def run(self, job_id: str) -> None:
        job = await self._start_job(job_id)
        if job is None:
            return
        config = asdict(train_config(self.settings))
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(
                self.pool, training_worker.train_dataset, self.settings.database_url, job.dataset_id, config
            )
        except asyncio.CancelledError:
            raise  # shutting down: the job stays 'running' and resumes at the next start
        except Exception as exc:
            await self._fail(job_id, exc)
            return
        await self._succeed(job_id, result)

    async def _start_job(self, job_id: str) -> TrainingJob | None:
        async with transaction(self.sessions) as session:
            job = await session.get(TrainingJob, job_id)
            if job is None or job.status not in ("queued", "running"):
                return None
            job.status, job.started_at, job.attempts = "running", utcnow(), job.attempts + 1
            dataset = await session.get(Dataset, job.dataset_id)
            dataset.status = "training"
            audit.record(session, company_id=job.company_id, action="training.started",
                         subject_type="training_job", subject_id=job.id,
                         summary={"dataset_id": job.dataset_id, "attempt": job.attempts})
            return job

    async def _fail(self, job_id: str, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"[:2000]
        logger.warning("training failed", extra={"job_id": job_id, "error": reason})
        async with transaction(self.sessions) as session:
            job = await session.get(TrainingJob, job_id)
            job.status, job.error, job.finished_at = "failed", reason, utcnow()
            (await session.get(Dataset, job.dataset_id)).status = "failed"
            audit.record(session, company_id=job.company_id, action="training.failed",
                         subject_type="training_job", subject_id=job.id,
                         summary={"dataset_id": job.dataset_id, "error": reason[:300]})

    async def _succeed(self, job_id: str, result: dict[str, Any]) -> None:
        async with transaction(self.sessions) as session:
            job = await session.get(TrainingJob, job_id)
            model = await record_version(session, job, result)
            job.status, job.finished_at, job.model_version = "succeeded", utcnow(), model.version
            (await session.get(Dataset, job.dataset_id)).status = "trained"
            audit.record(session, company_id=job.company_id, action="training.succeeded",
                         subject_type="training_job", subject_id=job.id,
                         summary={"dataset_id": job.dataset_id, "model_version": model.version,
                                  "roc_auc": result["metrics"].get("roc_auc"),
                                  "accuracy": result["metrics"].get("accuracy")})
        if self.on_company_change is not None:  # a new version may have become the active one
            self.on_company_change(job.company_id)
        logger.info("training succeeded", extra={"job_id": job_id, "model_version": model.version})


async def queue_job(session: AsyncSession, runner: TrainingRunner, dataset: Dataset, actor: str) -> TrainingJob:
    job = TrainingJob(company_id=dataset.company_id, dataset_id=dataset.id, status="queued")
    session.add(job)
    await session.flush()
    audit.record(session, company_id=dataset.company_id, action="training.queued", subject_type="training_job",
                 subject_id=job.id, summary={"dataset_id": dataset.id}, actor=actor)
    after_commit(session, lambda: runner.dispatch(job.id, job.company_id))
    return job


async def request_training(
    session: AsyncSession, runner: TrainingRunner, principal: Principal, dataset: Dataset
) -> TrainingJob:
    if dataset.purpose != "training":
        raise Conflict(f"Dataset {dataset.id} was uploaded for evaluation; upload a training dataset to train.")
    if dataset.status not in TRAINABLE:
        raise Conflict(f"Dataset {dataset.id} is {dataset.status}; only a valid dataset can be trained.")
    return await queue_job(session, runner, dataset, actor=principal.jti)


async def get_job(session: AsyncSession, principal: Principal, job_id: str) -> TrainingJob:
    job = await session.get(TrainingJob, job_id)
    if job is None or job.company_id != principal.company.id:
        raise NotFound(f"Training job {job_id} was not found.")
    return job
