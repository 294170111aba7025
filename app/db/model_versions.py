"""Model versions and their evaluations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, Select, String, Text, UniqueConstraint, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, undefer

from app.db.base import Base, new_id, status_type, utcnow
from app.domain.states import UNFINISHED_JOB_STATUSES, JobStatus


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("company_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    version: Mapped[int]
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"))
    job_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16), default="ready")
    feature_names: Mapped[dict[str, Any]]  # {"names": [...]}: JSON lists stay portable this way
    params: Mapped[dict[str, Any]]
    threshold: Mapped[float]
    booster: Mapped[bytes] = mapped_column(LargeBinary)
    booster_format: Mapped[str] = mapped_column(String(16), default="ubj")
    metrics: Mapped[dict[str, Any]]
    feature_importance: Mapped[dict[str, Any]]
    details: Mapped[dict[str, Any]]  # counts, best iteration, timings
    training_seconds: Mapped[float]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None]
    # What the reasons and later analyses need (app/ml/calibration.py, reference.py, artifacts.py);
    # NULL for versions trained before they existed (scored uncalibrated, reasons without comparison).
    calibration: Mapped[dict[str, Any] | None]  # {"method": "platt"|"isotonic", ...its parameters}
    reference: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True, deferred_raiseload=True)
    validation: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True, deferred_raiseload=True)
    holdout: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True, deferred_raiseload=True)


READ_FOR_SCORING = (undefer(ModelVersion.reference),)
"""Loader options of a version about to be scored: its reference comes with it (the scored
slices, megabytes, stay behind until someone asks for them)."""


class ModelEvaluation(Base):
    """A version tested on a labelled dataset: a queued job until its metrics are in."""

    __tablename__ = "model_evaluations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    model_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id"), index=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"))
    status: Mapped[JobStatus] = mapped_column(status_type(JobStatus), default=JobStatus.queued,
                                              server_default=JobStatus.succeeded.value)
    metrics: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The scored orders (app/ml/artifacts.py ScoreSample) its report's curves come from; NULL
    # before it succeeded and for evaluations run before they were kept (migration 0009).
    scores: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True, deferred_raiseload=True)


VERSION_PAGE_KEYS = (ModelVersion.version,)
EVALUATION_PAGE_KEYS = (ModelEvaluation.created_at, ModelEvaluation.id)


async def get_version(session: AsyncSession, company_id: str, version: int) -> ModelVersion | None:
    query = select(ModelVersion).where(ModelVersion.company_id == company_id, ModelVersion.version == version)
    return await session.scalar(query)


async def get_version_id(session: AsyncSession, company_id: str, version: int) -> str | None:
    query = select(ModelVersion.id).where(ModelVersion.company_id == company_id, ModelVersion.version == version)
    return await session.scalar(query)


def company_versions(company_id: str) -> Select:
    return select(ModelVersion).where(ModelVersion.company_id == company_id)


def model_evaluations(model_id: str) -> Select:
    return select(ModelEvaluation).where(ModelEvaluation.model_id == model_id)


async def unfinished_evaluations(session: AsyncSession) -> list[ModelEvaluation]:
    query = (select(ModelEvaluation).where(ModelEvaluation.status.in_(UNFINISHED_JOB_STATUSES))
             .order_by(ModelEvaluation.created_at))
    return list(await session.scalars(query))


async def unfinished_evaluation_count(session: AsyncSession, company_id: str) -> int:
    query = select(func.count()).select_from(ModelEvaluation).where(
        ModelEvaluation.company_id == company_id, ModelEvaluation.status.in_(UNFINISHED_JOB_STATUSES))
    return int(await session.scalar(query) or 0)


async def versions_trained_on(session: AsyncSession, dataset_id: str) -> list[int]:
    query = select(ModelVersion.version).where(ModelVersion.dataset_id == dataset_id).order_by(ModelVersion.version)
    return list(await session.scalars(query))


async def unfinished_evaluations_of(session: AsyncSession, dataset_id: str) -> int:
    query = select(func.count()).select_from(ModelEvaluation).where(
        ModelEvaluation.dataset_id == dataset_id, ModelEvaluation.status.in_(UNFINISHED_JOB_STATUSES))
    return int(await session.scalar(query) or 0)


async def validation_sample(session: AsyncSession, model_id: str) -> bytes | None:
    """A version's scored validation slice (the operating points' input), or None."""
    return await session.scalar(select(ModelVersion.validation).where(ModelVersion.id == model_id))


async def holdout_sample(session: AsyncSession, model_id: str) -> bytes | None:
    """A version's scored hold-out slice (its report's curves), or None."""
    return await session.scalar(select(ModelVersion.holdout).where(ModelVersion.id == model_id))


async def evaluation_scores(session: AsyncSession, evaluation_id: str) -> bytes | None:
    """An evaluation's scored orders (its report's curves), or None."""
    return await session.scalar(select(ModelEvaluation.scores).where(ModelEvaluation.id == evaluation_id))
