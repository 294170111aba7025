"""Challenger versions scored in shadow, and their scores beside each decision."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import batched

from sqlalchemy import ColumnElement, ForeignKey, String, and_, case, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, utcnow
from app.db.decisions import Decision
from app.db.outcomes import Outcome


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


async def scored(session: AsyncSession, model_id: str, decision_ids: Sequence[str]) -> set[str]:
    """Which of `decision_ids` already have a score from the challenger `model_id`."""
    found: set[str] = set()
    for chunk in batched(decision_ids, 1000):  # SQL Server takes at most 2,100 parameters
        found.update(await session.scalars(select(ShadowScore.decision_id).where(
            ShadowScore.model_id == model_id, ShadowScore.decision_id.in_(chunk))))
    return found


CATCH_UP = timedelta(days=1)
"""How far back a starting process looks for decisions a challenger has not scored (a process
scores what it was handed within about a second; a day covers any restart)."""


async def unscored(session: AsyncSession, limit: int) -> list[tuple[str, dict]]:
    """Up to `limit` (challenger model id, decision) pairs: decisions of the last `CATCH_UP`, made
    since the challenger was added, by another model, without a score from it."""
    since = utcnow() - CATCH_UP
    query = (
        select(ShadowVersion.model_id, Decision.id, Decision.company_id, Decision.model_id, Decision.features)
        .join(ShadowVersion, and_(ShadowVersion.company_id == Decision.company_id,
                                  Decision.created_at >= ShadowVersion.created_at,
                                  Decision.model_id != ShadowVersion.model_id))
        .where(Decision.created_at >= since,
               ~exists().where(ShadowScore.decision_id == Decision.id, ShadowScore.model_id == ShadowVersion.model_id))
        .limit(limit)
    )
    return [(challenger, {"id": decision_id, "company_id": company_id, "model_id": model_id, "features": features})
            for challenger, decision_id, company_id, model_id, features in await session.execute(query)]


async def remove(session: AsyncSession, company_id: str, model_id: str) -> int:
    result = await session.execute(delete(ShadowVersion).where(ShadowVersion.company_id == company_id,
                                                               ShadowVersion.model_id == model_id))
    return result.rowcount


async def scores_of(session: AsyncSession, decision_id: str) -> list[ShadowScore]:
    query = select(ShadowScore).where(ShadowScore.decision_id == decision_id).order_by(ShadowScore.model_version)
    return list(await session.scalars(query))


def _paired(company_id: str, since: datetime | None, until: datetime | None):
    """Decisions of the company joined with the shadow scores their challengers gave them,
    within [since, until) of the decision's time (both sides filtered by company)."""
    joined = Decision.__table__.join(ShadowScore.__table__, and_(
        ShadowScore.decision_id == Decision.id, ShadowScore.company_id == company_id))
    conditions = [Decision.company_id == company_id]
    if since is not None:
        conditions.append(Decision.created_at >= since)
    if until is not None:
        conditions.append(Decision.created_at < until)
    return joined, conditions


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def pair_counts(session: AsyncSession, company_id: str, model_ids: Sequence[str], since: datetime | None,
                      until: datetime | None) -> list[tuple[str, str, int, int, int, int]]:
    """Per (champion model, challenger model) among `model_ids`: decisions of the champion with
    a shadow score of the challenger, those where the two decided differently, and each one's
    blocks - one aggregate query, nothing read per decision."""
    joined, conditions = _paired(company_id, since, until)
    wanted = sorted(set(model_ids))
    query = (select(Decision.model_id, ShadowScore.model_id, func.count(),
                    _count(Decision.decision != ShadowScore.decision), _count(Decision.decision == "block"),
                    _count(ShadowScore.decision == "block"))
             .select_from(joined)
             .where(*conditions, Decision.model_id.in_(wanted), ShadowScore.model_id.in_(wanted))
             .group_by(Decision.model_id, ShadowScore.model_id))
    return [(a, b, int(n), int(d), int(x), int(y)) for a, b, n, d, x, y in await session.execute(query)]


async def pair_outcomes(session: AsyncSession, company_id: str, champion_id: str, challenger_id: str,
                        since: datetime | None, until: datetime | None) -> list[tuple[float, float, float, float, str]]:
    """(champion probability, champion threshold, challenger probability, challenger threshold,
    outcome status) of the paired decisions whose outcome arrived (each decision's current one)."""
    joined, conditions = _paired(company_id, since, until)
    joined = joined.join(Outcome.__table__, and_(Outcome.decision_id == Decision.id,
                                                 Outcome.company_id == company_id, Outcome.current.is_(True)))
    query = (select(Decision.probability_block, Decision.threshold, ShadowScore.probability_block,
                    ShadowScore.threshold, Outcome.status)
             .select_from(joined)
             .where(*conditions, Decision.model_id == champion_id, ShadowScore.model_id == challenger_id))
    return [tuple(row) for row in await session.execute(query)]
