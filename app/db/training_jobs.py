"""Training jobs: one per request to train a dataset, run by a training worker."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Select, String, Text, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, new_id, status_type, utcnow
from app.domain.states import UNFINISHED_JOB_STATUSES, JobStatus


class TrainingJob(Base):
    __tablename__ = "training_jobs"
    __table_args__ = (
        Index("ix_training_jobs_status", "status"),
        # At most one unfinished job per dataset, whatever the number of concurrent requests: the
        # column holds the dataset id while the job is queued or running, NULL once it finished
        # (SQL Server's unique indexes allow one NULL only, hence the filter there).
        Index("uq_training_jobs_active_dataset_id", "active_dataset_id", unique=True,
              mssql_where=text("active_dataset_id IS NOT NULL")),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"))
    status: Mapped[JobStatus] = mapped_column(status_type(JobStatus), default=JobStatus.queued)
    active_dataset_id: Mapped[str | None] = mapped_column(String(36))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    model_version: Mapped[int | None]
    options: Mapped[dict[str, Any] | None]  # the request's training options, e.g. {"monotone_constraints": false}
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


PAGE_KEYS = (TrainingJob.created_at, TrainingJob.id)


def company_jobs(company_id: str) -> Select:
    return select(TrainingJob).where(TrainingJob.company_id == company_id)


async def get_job(session: AsyncSession, company_id: str, job_id: str) -> TrainingJob | None:
    job = await session.get(TrainingJob, job_id)
    return job if job is not None and job.company_id == company_id else None


async def unfinished_jobs(session: AsyncSession) -> list[TrainingJob]:
    query = select(TrainingJob).where(TrainingJob.status.in_(UNFINISHED_JOB_STATUSES)).order_by(TrainingJob.created_at)
    return list(await session.scalars(query))


async def unfinished_for_dataset(session: AsyncSession, dataset_id: str) -> TrainingJob | None:
    return await session.scalar(select(TrainingJob).where(TrainingJob.active_dataset_id == dataset_id))


async def unfinished_count(session: AsyncSession, company_id: str) -> int:
    query = select(func.count()).select_from(TrainingJob).where(
        TrainingJob.company_id == company_id, TrainingJob.status.in_(UNFINISHED_JOB_STATUSES))
    return int(await session.scalar(query) or 0)
