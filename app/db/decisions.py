"""Stored decisions: inputs, features, result, model version and reasons."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, new_id, utcnow


class Decision(Base):
    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_company_id_created_at", "company_id", "created_at"),
        Index("ix_decisions_company_id_customer_id", "company_id", "customer_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    model_id: Mapped[str] = mapped_column(String(36))
    model_version: Mapped[int]
    customer_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(8))
    probability_block: Mapped[float]
    threshold: Mapped[float]
    request: Mapped[dict[str, Any]]
    features: Mapped[dict[str, Any]]
    reasons: Mapped[dict[str, Any]]  # {"reasons": [...], "missing_features": [...], "language": "en"}
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


async def query_decisions(
    session: AsyncSession,
    company_id: str,
    *,
    customer_id: str | None,
    decision: str | None,
    since: datetime | None,
    until: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Decision]:
    query = select(Decision).where(Decision.company_id == company_id)
    if customer_id is not None:
        query = query.where(Decision.customer_id == customer_id)
    if decision is not None:
        query = query.where(Decision.decision == decision)
    if since is not None:
        query = query.where(Decision.created_at >= since)
    if until is not None:
        query = query.where(Decision.created_at < until)
    if after is not None:
        created, last_id = after
        query = query.where(
            or_(Decision.created_at < created, and_(Decision.created_at == created, Decision.id < last_id))
        )
    query = query.order_by(Decision.created_at.desc(), Decision.id.desc()).limit(limit)
    return list(await session.scalars(query))
