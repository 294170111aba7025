"""Training jobs: queued when a training dataset becomes valid (or on request), run through the
job queue on a compute worker, resumed after a crash, each success recorded as a new version."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import retraining as retraining_db
from app.db import training_jobs as jobs_db
from app.db.base import utcnow
from app.db.datasets import Dataset
from app.db.engine import transaction
from app.db.pages import fetch_page
from app.db.training_jobs import TrainingJob
from app.domain.principal import Principal
from app.domain.states import DatasetStatus, JobKind, JobStatus, Purpose
from app.errors import Conflict, TooManyRequests
from app.kit.pagination import PageRequest
from app.metrics import TRAINING_DURATION, TRAINING_JOBS
from app.ml.training import TrainConfig
from app.services import audit, retraining, training_worker
from app.services.jobs import Compute, JobRef, Jobs, WorkerLost
from app.services.model_versions import record_version
from app.settings import Settings

__all__ = ["TrainingJob"]
logger = logging.getLogger("app.training")
MAX_ATTEMPTS = 2  # a job whose worker died is run once more; a second death fails it
# A training strategy: (database URL, dataset id, TrainConfig as a dict) -> the version's fields,
# run on a Compute worker (so picklable): `training_worker.train_dataset` on that worker alone, or
# `cluster_training.train_dataset_on_cluster` bound to a Dask scheduler (chosen in app/runtime.py).
Trainer = Callable[[str, str, dict[str, Any]], dict[str, Any]]


DEFAULT_OPTIONS: dict[str, Any] = {"monotone_constraints": True, "sources": "dataset"}
"""What a training request may choose (`TrainingRequest`), and the choice when it does not.
`sources`: "dataset" trains the job's dataset; "everything" every valid training dataset of the
company plus the decided orders whose outcome arrived (`retrain`, app/services/retraining.py)."""


def train_config(settings: Settings, options: dict[str, Any] | None = None) -> TrainConfig:
    chosen = job_options(options)
    return TrainConfig(holdout_fraction=settings.holdout_fraction, nthread=settings.training_threads,
                       monotone_constraints=bool(chosen["monotone_constraints"]))


def job_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """A job's options with the defaults filled in (jobs queued before options existed have none)."""
    return DEFAULT_OPTIONS | {k: v for k, v in (options or {}).items() if k in DEFAULT_OPTIONS}


class TrainingService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings, compute: Compute,
                 jobs: Jobs, trainer: Trainer = training_worker.train_dataset) -> None:
        self.sessions = sessions
        self.settings = settings
        self.compute = compute
        self.jobs = jobs
        self.trainer = trainer
        jobs.register(JobKind.training, self.run, _unfinished)

    async def on_dataset_ready(self, session: AsyncSession, dataset: Dataset) -> None:
        """Hook called in the transaction that marks a dataset valid."""
        if dataset.purpose != Purpose.training or not self.settings.auto_train:
            return
        await self.queue(session, dataset, actor=audit.SYSTEM_ACTOR)

    async def request(self, session: AsyncSession, principal: Principal, dataset: Dataset,
                      options: dict[str, Any] | None = None) -> TrainingJob:
        """A training job for the dataset: the one already queued or running, if any (concurrent
        requests get the same job; one with other options is a conflict), else a new one, within the
        company's bound on unfinished jobs."""
        if dataset.purpose != Purpose.training:
            raise Conflict(f"Dataset {dataset.id} was uploaded for evaluation; upload a training dataset to train.")
        if not dataset.status.usable:
            raise Conflict(f"Dataset {dataset.id} is {dataset.status}; only a valid dataset can be trained.")
        if (job := await jobs_db.unfinished_for_dataset(session, dataset.id)) is not None:
            if job_options(job.options) != job_options(options):
                raise Conflict(f"Dataset {dataset.id} is already being trained with other options "
                               f"({job_options(job.options)}); retry when training job {job.id} finished.")
            return job
        limit = self.settings.max_unfinished_jobs_per_company
        if await jobs_db.unfinished_count(session, principal.company.id) >= limit:
            raise TooManyRequests(f"{limit} trainings of this company are queued or running; retry when one "
                                  "finished (GET /v1/training-jobs).", headers={"Retry-After": "30"})
        return await self.queue(session, dataset, actor=principal.jti, options=options)

    async def retrain(self, session: AsyncSession, principal: Principal,
                      options: dict[str, Any] | None = None) -> TrainingJob:
        """A training on everything known (every valid training dataset and the outcomes that
        arrived); the job is filed under the company's latest valid training dataset."""
        anchor = await retraining_db.latest_training_dataset(session, principal.company.id)
        if anchor is None:
            raise Conflict("No valid training dataset yet: upload one before retraining.")
        return await self.request(session, principal, anchor, (options or {}) | {"sources": "everything"})

    async def retrain_for_alert(self, session: AsyncSession, company_id: str, alert_ids: list[str]) -> dict[str, Any]:
        """The retraining an alert asks for (`retrain_on_alert`), by the rules of `retrain`: the
        unfinished retraining of the company's latest valid training dataset if there is one (one
        job at a time), else a new one within the bound on unfinished jobs; never raises. Audited
        (`training.retrain_on_alert`) with what happened: queued, already_queued or skipped."""
        anchor = await retraining_db.latest_training_dataset(session, company_id)
        job, outcome = None, "queued"
        if anchor is None:
            outcome = "skipped: no valid training dataset"
        elif (job := await jobs_db.unfinished_for_dataset(session, anchor.id)) is not None:
            outcome = "already_queued"
            if job_options(job.options)["sources"] != "everything":
                outcome = "skipped: the dataset is already being trained"
        elif await jobs_db.unfinished_count(session, company_id) >= self.settings.max_unfinished_jobs_per_company:
            outcome = "skipped: too many unfinished trainings"
        else:
            job = await self.queue(session, anchor, actor=audit.SYSTEM_ACTOR,
                                   options={"sources": "everything"}, reason={"alert_ids": alert_ids})
        summary = {"alert_ids": alert_ids, "outcome": outcome, "job_id": job.id if job is not None else None}
        audit.record(session, company_id=company_id, action="training.retrain_on_alert", subject_type="company",
                     subject_id=company_id, summary=summary, actor=audit.SYSTEM_ACTOR)
        if job is None:
            logger.warning("no retraining for the alert", extra={"company_id": company_id, "outcome": outcome})
        return summary

    async def queue(self, session: AsyncSession, dataset: Dataset, actor: str,
                    options: dict[str, Any] | None = None, reason: dict[str, Any] | None = None) -> TrainingJob:
        job = TrainingJob(company_id=dataset.company_id, dataset_id=dataset.id, status=JobStatus.queued,
                          active_dataset_id=dataset.id, options=job_options(options))
        try:
            async with session.begin_nested():
                session.add(job)
        except IntegrityError:  # a concurrent request queued this dataset's job first
            existing = await jobs_db.unfinished_for_dataset(session, dataset.id)
            if existing is None:
                raise
            return existing
        audit.record(session, company_id=dataset.company_id, action="training.queued",
                     subject_type="training_job", subject_id=job.id,
                     summary={"dataset_id": dataset.id, "options": job.options} | (reason or {}), actor=actor)
        self.jobs.submit_after_commit(session, JobRef(JobKind.training, job.id, job.company_id))
        return job

    async def run(self, ref: JobRef) -> None:
        job = await self._start(ref.id)
        if job is None:
            return
        trainer, subject = self.trainer, job.dataset_id
        if job_options(job.options)["sources"] == "everything":  # on this compute worker, not a cluster
            trainer, subject = retraining.train_company, job.company_id
        try:
            result = await self.compute.run(trainer, self.settings.database_url, subject,
                                            asdict(train_config(self.settings, job.options)))
        except asyncio.CancelledError:
            raise  # shutting down: the job stays 'running' and resumes at the next start
        except WorkerLost as exc:
            await self._worker_lost(job, ref, exc)
            return
        except Exception as exc:
            await self._fail(job.id, f"{type(exc).__name__}: {exc}")
            return
        await self._succeed(job.id, result)

    async def _start(self, job_id: str) -> TrainingJob | None:
        async with transaction(self.sessions) as session:
            job = await session.get(TrainingJob, job_id)
            if job is None or job.status.finished:
                return None
            job.status, job.started_at, job.attempts = JobStatus.running, utcnow(), job.attempts + 1
            (await session.get(Dataset, job.dataset_id)).status = DatasetStatus.training
            audit.record(session, company_id=job.company_id, action="training.started",
                         subject_type="training_job", subject_id=job.id,
                         summary={"dataset_id": job.dataset_id, "attempt": job.attempts})
            return job

    async def _worker_lost(self, job: TrainingJob, ref: JobRef, exc: WorkerLost) -> None:
        if job.attempts >= MAX_ATTEMPTS:
            await self._fail(job.id, f"{exc} (attempt {job.attempts} of {MAX_ATTEMPTS}); retry the training")
            return
        logger.warning("training worker lost, running the job again", extra={"job_id": job.id})
        async with transaction(self.sessions) as session:
            (await session.get(TrainingJob, job.id)).status = JobStatus.queued
            self.jobs.submit_after_commit(session, ref)

    async def _fail(self, job_id: str, reason: str) -> None:
        reason = reason[:2000]
        logger.warning("training failed", extra={"job_id": job_id, "error": reason})
        async with transaction(self.sessions) as session:
            job = await session.get(TrainingJob, job_id)
            job.status, job.error, job.finished_at, job.active_dataset_id = JobStatus.failed, reason, utcnow(), None
            (await session.get(Dataset, job.dataset_id)).status = DatasetStatus.failed
            audit.record(session, company_id=job.company_id, action="training.failed",
                         subject_type="training_job", subject_id=job.id,
                         summary={"dataset_id": job.dataset_id, "error": reason[:300]})
            seconds = _attempt_seconds(job)
        _observe_finished(JobStatus.failed, seconds)

    async def _succeed(self, job_id: str, result: dict[str, Any]) -> None:
        async with transaction(self.sessions) as session:
            job = await session.get(TrainingJob, job_id)
            model = await record_version(session, job, result)
            job.status, job.finished_at, job.model_version = JobStatus.succeeded, utcnow(), model.version
            job.active_dataset_id = None
            (await session.get(Dataset, job.dataset_id)).status = DatasetStatus.trained
            audit.record(session, company_id=job.company_id, action="training.succeeded",
                         subject_type="training_job", subject_id=job.id,
                         summary={"dataset_id": job.dataset_id, "model_version": model.version,
                                  "roc_auc": result["metrics"].get("roc_auc"),
                                  "accuracy": result["metrics"].get("accuracy")})
            seconds = _attempt_seconds(job)
        _observe_finished(JobStatus.succeeded, seconds)
        logger.info("training succeeded", extra={"job_id": job_id, "model_version": model.version})


def _attempt_seconds(job: TrainingJob) -> float | None:
    if job.started_at is None or job.finished_at is None:
        return None
    return (job.finished_at - job.started_at).total_seconds()


def _observe_finished(outcome: JobStatus, seconds: float | None) -> None:
    """Counted once committed: a rolled-back finish is not a finished job."""
    TRAINING_JOBS.labels(outcome.value).inc()
    if seconds is not None:
        TRAINING_DURATION.labels(outcome.value).observe(seconds)


async def _unfinished(session: AsyncSession) -> Sequence[tuple[JobRef, JobStatus]]:
    return [(JobRef(JobKind.training, job.id, job.company_id), job.status)
            for job in await jobs_db.unfinished_jobs(session)]


async def find_job(session: AsyncSession, company_id: str, job_id: str) -> TrainingJob | None:
    return await jobs_db.get_job(session, company_id, job_id)


async def list_jobs(session: AsyncSession, principal: Principal,
                    page: PageRequest) -> tuple[list[TrainingJob], str | None]:
    return await fetch_page(session, jobs_db.company_jobs(principal.company.id), jobs_db.PAGE_KEYS, page)
