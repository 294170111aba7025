"""What a retraining reads: every valid training dataset of a company, and the decided orders
whose outcome arrived."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.datasets import Dataset
from app.db.decisions import Decision
from app.db.history import Rows, dataset_rows
from app.db.outcomes import Outcome
from app.domain.states import USABLE_DATASET_STATUSES, Purpose


async def training_datasets(session: AsyncSession, company_id: str) -> list[tuple[str, datetime]]:
    """(id, uploaded at) of the company's valid training datasets, oldest first."""
    query = (select(Dataset.id, Dataset.created_at)
             .where(Dataset.company_id == company_id, Dataset.purpose == Purpose.training,
                    Dataset.status.in_(USABLE_DATASET_STATUSES))
             .order_by(Dataset.created_at, Dataset.id))
    return [tuple(row) for row in await session.execute(query)]


async def datasets_rows(session: AsyncSession, dataset_ids: list[str]) -> dict[str, dict[str, Rows]]:
    return {dataset_id: await dataset_rows(session, dataset_id) for dataset_id in dataset_ids}


async def decided_outcomes(session: AsyncSession, company_id: str) -> list[tuple]:
    """(order id, customer id, decision request, decided at, status, recorded at) of every outcome
    of the company, with the decision it was linked to."""
    query = (select(Outcome.order_id, Decision.customer_id, Decision.request, Decision.created_at, Outcome.status,
                    Outcome.recorded_at)
             .join(Decision, Decision.id == Outcome.decision_id)
             .where(Outcome.company_id == company_id)
             .order_by(Outcome.recorded_at, Outcome.id))
    return [tuple(row) for row in await session.execute(query)]


async def latest_training_dataset(session: AsyncSession, company_id: str) -> Dataset | None:
    """The company's most recent valid training dataset, or None."""
    query = (select(Dataset).where(Dataset.company_id == company_id, Dataset.purpose == Purpose.training,
                                   Dataset.status.in_(USABLE_DATASET_STATUSES))
             .order_by(Dataset.created_at.desc(), Dataset.id.desc()).limit(1))
    return await session.scalar(query)
