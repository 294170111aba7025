"""Monitoring counts and alerts.

`monitoring_counts` holds, per company, model version and day, how many decisions fell in each
bin of each feature, of the score and of the decision itself (docs/decisions/0011): the decision
log adds to it in the transaction that writes the decisions, so a month of monitoring is a sum
over ~30 days x a few hundred rows, whatever the number of decisions.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, new_id

SCORE = "__score__"  # the score's bins
DECISION = "__decision__"  # bins: 0 bill, 1 block, 2 review
MISSING_BIN = -1


class MonitoringCount(Base):
    __tablename__ = "monitoring_counts"

    company_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    decided_on: Mapped[date] = mapped_column(Date, primary_key=True)
    feature: Mapped[str] = mapped_column(String(64), primary_key=True)
    bin_index: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(BigInteger)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_company_id_raised_at", "company_id", "raised_at", "id"),
        Index("ix_alerts_cleared_at", "cleared_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    model_id: Mapped[str] = mapped_column(String(36))
    model_version: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))  # drift | performance
    feature: Mapped[str | None] = mapped_column(String(64))  # drift of a feature; null: the score / AUC
    value: Mapped[float]
    threshold: Mapped[float]
    raised_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]  # null while open


ALERT_PAGE_KEYS = (Alert.raised_at, Alert.id)
CountKey = tuple[str, str, date, str, int]


async def add_counts(session: AsyncSession, counts: dict[CountKey, int]) -> None:
    """Add to the counts (company, model, day, feature, bin): one INSERT ... ON CONFLICT DO
    UPDATE on SQLite and PostgreSQL (concurrent writers add, never overwrite); elsewhere
    (SQL Server) read the keys that exist, update those and insert the rest."""
    if not counts:
        return
    rows = [{"company_id": k[0], "model_id": k[1], "decided_on": k[2], "feature": k[3], "bin_index": k[4],
             "count": n} for k, n in counts.items()]
    dialect = session.bind.dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        table = MonitoringCount.__table__
        statement = insert(table)
        statement = statement.on_conflict_do_update(index_elements=[c.name for c in table.primary_key.columns],
                                                    set_={"count": table.c.count + statement.excluded.count})
        # executemany: one statement compiled once (and cached), not a VALUES list of thousands of
        # bind parameters compiled on the event loop at every commit (~12 % of a server's time)
        await session.execute(statement, rows)
        return
    await _add_counts_portably(session, rows)


async def _add_counts_portably(session: AsyncSession, rows: list[dict]) -> None:
    table = MonitoringCount.__table__
    keys = ("company_id", "model_id", "decided_on", "feature", "bin_index")
    scopes = {(r["company_id"], r["model_id"], r["decided_on"]) for r in rows}
    existing = set()
    for company_id, model_id, day in scopes:
        query = select(*[table.c[k] for k in keys]).where(
            table.c.company_id == company_id, table.c.model_id == model_id, table.c.decided_on == day)
        existing |= set(map(tuple, await session.execute(query)))
    new = [r for r in rows if tuple(r[k] for k in keys) not in existing]
    for r in rows:
        if tuple(r[k] for k in keys) in existing:
            await session.execute(update(table).where(*[table.c[k] == r[k] for k in keys])
                                  .values(count=table.c.count + r["count"]))
    if new:
        await session.execute(table.insert(), new)


async def summed_counts(session: AsyncSession, company_id: str, model_id: str, since: date,
                        until: date) -> list[tuple[date, str, int, int]]:
    """(day, feature, bin, count) of the days in [since, until)."""
    query = (select(MonitoringCount.decided_on, MonitoringCount.feature, MonitoringCount.bin_index,
                    MonitoringCount.count)
             .where(MonitoringCount.company_id == company_id, MonitoringCount.model_id == model_id,
                    MonitoringCount.decided_on >= since, MonitoringCount.decided_on < until))
    return [tuple(row) for row in await (await session.connection()).execute(query)]


async def active_scopes(session: AsyncSession, since: date) -> list[tuple[str, str]]:
    """(company, model) pairs with decisions counted since `since`."""
    query = (select(MonitoringCount.company_id, MonitoringCount.model_id)
             .where(MonitoringCount.decided_on >= since).distinct())
    return [tuple(row) for row in await session.execute(query)]


async def open_alerts(session: AsyncSession, company_id: str, model_id: str) -> list[Alert]:
    query = select(Alert).where(Alert.company_id == company_id, Alert.model_id == model_id,
                                Alert.cleared_at.is_(None))
    return list(await session.scalars(query))


async def open_alert_counts(session: AsyncSession) -> dict[str, int]:
    query = select(Alert.kind, func.count()).where(Alert.cleared_at.is_(None)).group_by(Alert.kind)
    return {kind: int(n) for kind, n in await session.execute(query)}


def company_alerts(company_id: str, *, open_only: bool = False) -> select:
    query = select(Alert).where(Alert.company_id == company_id)
    return query.where(Alert.cleared_at.is_(None)) if open_only else query
