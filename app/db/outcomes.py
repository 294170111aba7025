"""What happened after a decision: the order's real outcome and the analysts' reviews.

Both keep a copy of what monitoring groups by (the decision's model, score, threshold and time),
so live AUC, the confusion matrix and the override count are one indexed range read of these
small tables, never a join with the decisions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, new_id, utcnow
from app.db.decisions import Decision


class Outcome(Base):
    __tablename__ = "outcomes"
    __table_args__ = (
        UniqueConstraint("company_id", "order_id", "recorded_at"),
        Index("ix_outcomes_decision_id", "decision_id"),
        Index("ix_outcomes_company_id_model_id_decided_day", "company_id", "model_id", "decided_day"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    order_id: Mapped[str] = mapped_column(String(64))
    # The order's latest decision when the outcome arrived, and what monitoring needs of it.
    decision_id: Mapped[str] = mapped_column(String(36))
    model_id: Mapped[str] = mapped_column(String(36))
    model_version: Mapped[int]
    probability_block: Mapped[float]
    threshold: Mapped[float]
    decided_at: Mapped[datetime]
    decided_day: Mapped[int]  # UTC days since 1970-01-01: monitoring reads it without parsing instants
    current: Mapped[bool]  # the latest recorded outcome of its decision (statistics count that one)
    status: Mapped[str] = mapped_column(String(8))  # billed | blocked
    recorded_at: Mapped[datetime]
    days_late: Mapped[int | None]
    defaulted: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DecisionReview(Base):
    """An analyst's review of a decision (LGPD art. 20): confirmed or overridden."""

    __tablename__ = "decision_reviews"
    __table_args__ = (
        Index("ix_decision_reviews_decision_id", "decision_id"),
        Index("ix_decision_reviews_company_id_model_id_decided_at", "company_id", "model_id", "decided_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"))
    model_id: Mapped[str] = mapped_column(String(36))
    decided_at: Mapped[datetime]
    original: Mapped[str] = mapped_column(String(8))  # the decision reviewed: bill | block | review
    decision: Mapped[str] = mapped_column(String(8))  # the analyst's: bill | block
    overrides: Mapped[bool]
    reviewer: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


async def latest_decisions(session: AsyncSession, company_id: str, order_ids: Sequence[str]) -> dict[str, Decision]:
    """Each order's latest decision (the one no other supersedes: decisions of an order are
    written in time order, each naming the one before), by order id; orders never decided are absent."""
    latest: dict[str, Decision] = {}
    wanted = sorted(set(order_ids))
    for start in range(0, len(wanted), 500):
        query = (select(Decision).where(Decision.company_id == company_id,
                                        Decision.order_id.in_(wanted[start:start + 500]))
                 .order_by(Decision.created_at, Decision.id))
        for decision in await session.scalars(query):
            latest[decision.order_id] = decision
    return latest


async def existing_keys(session: AsyncSession, company_id: str,
                        keys: Sequence[tuple[str, datetime]]) -> set[tuple[str, datetime]]:
    """The (order id, recorded_at) pairs already stored for the company."""
    if not keys:
        return set()
    query = select(Outcome.order_id, Outcome.recorded_at).where(
        Outcome.company_id == company_id, tuple_(Outcome.order_id, Outcome.recorded_at).in_(list(keys)))
    if session.bind.dialect.name == "mssql":  # no row values there
        query = select(Outcome.order_id, Outcome.recorded_at).where(
            Outcome.company_id == company_id, Outcome.order_id.in_(sorted({k[0] for k in keys})))
    return {(order_id, recorded_at) for order_id, recorded_at in await session.execute(query)}


OUTCOME_KEY = ("company_id", "order_id", "recorded_at")


async def insert_new(session: AsyncSession, rows: list[dict]) -> set[str]:
    """Insert the outcome rows whose (company, order id, recorded_at) is not stored yet - stored
    meanwhile by a concurrent request included - and return the ids of those inserted.

    SQLite and PostgreSQL: `INSERT ... ON CONFLICT (company_id, order_id, recorded_at) DO NOTHING
    RETURNING id`, so a concurrent duplicate is skipped by the database, never an error (on
    PostgreSQL the second writer waits for the first to commit, then skips). Elsewhere (SQL Server,
    no ON CONFLICT): each row in a savepoint, a unique violation meaning "stored meanwhile".
    Rows are written in key order, so concurrent batches take their locks in the same order."""
    if not rows:
        return set()
    rows = sorted(rows, key=lambda r: (r["order_id"], r["recorded_at"]))
    table = Outcome.__table__
    dialect = session.bind.dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        inserted: set[str] = set()
        for start in range(0, len(rows), 500):
            statement = (dialect_insert(table).values(rows[start:start + 500])
                         .on_conflict_do_nothing(index_elements=list(OUTCOME_KEY)).returning(table.c.id))
            inserted |= set(await session.scalars(statement))
        return inserted
    return await _insert_new_portably(session, rows)


async def _insert_new_portably(session: AsyncSession, rows: list[dict]) -> set[str]:
    inserted = set()
    for row in rows:
        try:
            async with session.begin_nested():
                await session.execute(insert(Outcome.__table__), [row])
        except IntegrityError:  # stored by a concurrent request since it was looked up
            continue
        inserted.add(row["id"])
    return inserted


async def current_outcomes(session: AsyncSession, decision_ids: Sequence[str]) -> list[Outcome]:
    found = []
    wanted = sorted(set(decision_ids))
    for start in range(0, len(wanted), 500):
        query = select(Outcome).where(Outcome.decision_id.in_(wanted[start:start + 500]), Outcome.current.is_(True))
        found += list(await session.scalars(query))
    return found


async def outcome_of(session: AsyncSession, decision_id: str) -> Outcome | None:
    """The latest outcome recorded against a decision."""
    query = (select(Outcome).where(Outcome.decision_id == decision_id)
             .order_by(Outcome.recorded_at.desc(), Outcome.created_at.desc()).limit(1))
    return await session.scalar(query)


async def reviews_of(session: AsyncSession, decision_id: str) -> list[DecisionReview]:
    query = (select(DecisionReview).where(DecisionReview.decision_id == decision_id)
             .order_by(DecisionReview.created_at, DecisionReview.id))
    return list(await session.scalars(query))
