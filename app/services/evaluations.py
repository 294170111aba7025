"""Evaluations: a model version tested on a labelled dataset, run as a queued job like training
(the request answers at once; the metrics arrive when the job finished)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import model_versions as versions_db
from app.db.base import utcnow
from app.db.datasets import Dataset
from app.db.engine import transaction
from app.db.model_versions import ModelEvaluation, ModelVersion
from app.db.pages import fetch_page
from app.domain.principal import Principal
from app.domain.states import JobKind, JobStatus
from app.errors import Conflict, TooManyRequests
from app.kit.pagination import PageRequest
from app.services import audit, training_worker
from app.services.jobs import Compute, JobRef, Jobs, WorkerLost
from app.settings import Settings

__all__ = ["ModelEvaluation"]
logger = logging.getLogger("app.evaluations")
MAX_ATTEMPTS = 2


class EvaluationService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings, compute: Compute,
                 jobs: Jobs) -> None:
        self.sessions = sessions
        self.settings = settings
        self.compute = compute
        self.jobs = jobs
        jobs.register(JobKind.evaluation, self.run, _unfinished)

    async def request(self, session: AsyncSession, principal: Principal, model: ModelVersion,
                      dataset: Dataset) -> ModelEvaluation:
        if not dataset.status.usable:
            raise Conflict(f"Dataset {dataset.id} is {dataset.status}; only a valid dataset can be evaluated.")
        limit = self.settings.max_unfinished_jobs_per_company
        if await versions_db.unfinished_evaluation_count(session, principal.company.id) >= limit:
            raise TooManyRequests(f"{limit} evaluations of this company are queued or running; retry when one "
                                  "finished.", headers={"Retry-After": "30"})
        evaluation = ModelEvaluation(company_id=principal.company.id, model_id=model.id, dataset_id=dataset.id,
                                     status=JobStatus.queued)
        session.add(evaluation)
        await session.flush()
        audit.record(session, company_id=principal.company.id, action="evaluation.queued", subject_type="model",
                     subject_id=str(model.version), summary={"dataset_id": dataset.id, "evaluation_id": evaluation.id},
                     actor=principal.jti)
        self.jobs.submit_after_commit(session, JobRef(JobKind.evaluation, evaluation.id, evaluation.company_id))
        return evaluation

    async def run(self, ref: JobRef) -> None:
        started = await self._start(ref.id)
        if started is None:
            return
        evaluation, model = started
        try:
            result = await self.compute.run(training_worker.evaluate_dataset, self.settings.database_url,
                                             evaluation.dataset_id, model.booster, model.feature_names["names"],
                                             model.threshold, model.calibration)
        except asyncio.CancelledError:
            raise
        except WorkerLost as exc:
            if evaluation.attempts < MAX_ATTEMPTS:
                await self._requeue(ref)
            else:
                await self._finish(ref.id, model, error=f"{exc} (attempt {evaluation.attempts} of {MAX_ATTEMPTS})")
            return
        except Exception as exc:
            await self._finish(ref.id, model, error=f"{type(exc).__name__}: {exc}")
            return
        await self._finish(ref.id, model, metrics=result["metrics"], scores=result["scores"])

    async def _start(self, evaluation_id: str) -> tuple[ModelEvaluation, ModelVersion] | None:
        async with transaction(self.sessions) as session:
            evaluation = await session.get(ModelEvaluation, evaluation_id)
            if evaluation is None or evaluation.status.finished:
                return None
            evaluation.status, evaluation.started_at = JobStatus.running, utcnow()
            evaluation.attempts += 1
            return evaluation, await session.get(ModelVersion, evaluation.model_id)

    async def _requeue(self, ref: JobRef) -> None:
        async with transaction(self.sessions) as session:
            (await session.get(ModelEvaluation, ref.id)).status = JobStatus.queued
            self.jobs.submit_after_commit(session, ref)

    async def _finish(self, evaluation_id: str, model: ModelVersion, *, metrics: dict | None = None,
                      scores: bytes | None = None, error: str | None = None) -> None:
        async with transaction(self.sessions) as session:
            evaluation = await session.get(ModelEvaluation, evaluation_id)
            evaluation.finished_at = utcnow()
            evaluation.status = JobStatus.succeeded if error is None else JobStatus.failed
            evaluation.metrics, evaluation.error = metrics, error and error[:2000]
            evaluation.scores = scores
            summary = {"dataset_id": evaluation.dataset_id, "evaluation_id": evaluation.id,
                       "status": evaluation.status.value}
            if metrics is not None:
                summary |= {"roc_auc": metrics.get("roc_auc"), "accuracy": metrics.get("accuracy")}
            else:
                summary["error"] = error[:300]
            audit.record(session, company_id=evaluation.company_id, action="model.evaluated", subject_type="model",
                         subject_id=str(model.version), summary=summary)
        if error is not None:
            logger.warning("evaluation failed", extra={"evaluation_id": evaluation_id, "error": error})


async def _unfinished(session: AsyncSession) -> Sequence[tuple[JobRef, JobStatus]]:
    return [(JobRef(JobKind.evaluation, e.id, e.company_id), e.status)
            for e in await versions_db.unfinished_evaluations(session)]


async def find(session: AsyncSession, model: ModelVersion, evaluation_id: str) -> ModelEvaluation | None:
    evaluation = await session.get(ModelEvaluation, evaluation_id)
    return evaluation if evaluation is not None and evaluation.model_id == model.id else None


async def list_page(session: AsyncSession, model: ModelVersion,
                    page: PageRequest) -> tuple[list[ModelEvaluation], str | None]:
    return await fetch_page(session, versions_db.model_evaluations(model.id), versions_db.EVALUATION_PAGE_KEYS, page)
