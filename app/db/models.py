"""Training jobs, model versions and their evaluations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, new_id, utcnow


class TrainingJob(Base):
    __tablename__ = "training_jobs"
    __table_args__ = (Index("ix_training_jobs_status", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    model_version: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


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


class ModelEvaluation(Base):
    __tablename__ = "model_evaluations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    model_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id"), index=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"))
    metrics: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


async def next_version(session: AsyncSession, company_id: str) -> int:
    query = select(func.max(ModelVersion.version)).where(ModelVersion.company_id == company_id)
    return int(await session.scalar(query) or 0) + 1


async def get_version(session: AsyncSession, company_id: str, version: int) -> ModelVersion | None:
    query = select(ModelVersion).where(ModelVersion.company_id == company_id, ModelVersion.version == version)
    return await session.scalar(query)


async def list_versions(session: AsyncSession, company_id: str) -> list[ModelVersion]:
    query = select(ModelVersion).where(ModelVersion.company_id == company_id).order_by(ModelVersion.version.desc())
    return list(await session.scalars(query))


async def list_evaluations(session: AsyncSession, model_id: str) -> list[ModelEvaluation]:
    query = (
        select(ModelEvaluation)
        .where(ModelEvaluation.model_id == model_id)
        .order_by(ModelEvaluation.created_at.desc())
    )
    return list(await session.scalars(query))


async def unfinished_jobs(session: AsyncSession) -> list[TrainingJob]:
    query = select(TrainingJob).where(TrainingJob.status.in_(("queued", "running"))).order_by(TrainingJob.created_at)
    return list(await session.scalars(query))


async def list_jobs(session: AsyncSession, company_id: str, limit: int = 50) -> list[TrainingJob]:
    query = (
        select(TrainingJob)
        .where(TrainingJob.company_id == company_id)
        .order_by(TrainingJob.created_at.desc())
        .limit(limit)
    )
    return list(await session.scalars(query))


async def get_version_id(session: AsyncSession, company_id: str, version: int) -> str | None:
    query = select(ModelVersion.id).where(ModelVersion.company_id == company_id, ModelVersion.version == version)
    return await session.scalar(query)
