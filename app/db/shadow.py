"""Challenger versions scored in shadow, and their scores beside each decision."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, utcnow


class ShadowVersion(Base):
    __tablename__ = "shadow_versions"

    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id"), primary_key=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShadowScore(Base):
    __tablename__ = "shadow_scores"

    decision_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    company_id: Mapped[str] = mapped_column(String(36))
    model_version: Mapped[int]
    probability_block: Mapped[float]
    threshold: Mapped[float]
    decision: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


async def challengers(session: AsyncSession, company_ids: Sequence[str]) -> dict[str, list[str]]:
    """The challenger model ids of each company."""
    query = select(ShadowVersion.company_id, ShadowVersion.model_id).where(
        ShadowVersion.company_id.in_(sorted(set(company_ids))))
    found: dict[str, list[str]] = {}
    for company_id, model_id in await session.execute(query):
        found.setdefault(company_id, []).append(model_id)
    return found


async def remove(session: AsyncSession, company_id: str, model_id: str) -> int:
    result = await session.execute(delete(ShadowVersion).where(ShadowVersion.company_id == company_id,
                                                               ShadowVersion.model_id == model_id))
    return result.rowcount


async def scores_of(session: AsyncSession, decision_id: str) -> list[ShadowScore]:
    query = select(ShadowScore).where(ShadowScore.decision_id == decision_id).order_by(ShadowScore.model_version)
    return list(await session.scalars(query))
