"""Integrity checks over a complete dataset, in SQL so they scale with the data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.records import credit_limits, customers, orders, serasa_reports

MAX_EXAMPLES = 20


@dataclass
class Problem:
    code: str
    message: str
    count: int
    examples: list[str] = field(default_factory=list)


async def _problem(session: AsyncSession, code: str, message: str, query: Select) -> Problem | None:
    """`query` selects one example label per offending row or group."""
    subquery = query.subquery()
    count = await session.scalar(select(func.count()).select_from(subquery))
    if not count:
        return None
    rows = await session.execute(query.limit(MAX_EXAMPLES))
    examples = ["@".join(str(v) for v in row) for row in rows]
    return Problem(code, message, int(count), examples)


def _duplicates(table, dataset_id: str, *keys: str) -> Select:
    columns = [table.c[k] for k in keys]
    return (
        select(*columns)
        .where(table.c.dataset_id == dataset_id)
        .group_by(*columns)
        .having(func.count() > 1)
        .order_by(*columns)
    )


def _orphans(table, dataset_id: str, label_column: str) -> Select:
    known = exists().where(
        and_(customers.c.dataset_id == dataset_id, customers.c.customer_id == table.c.customer_id)
    )
    return (
        select(table.c[label_column])
        .where(table.c.dataset_id == dataset_id, ~known)
        .order_by(table.c.id)
    )


def _future(table, dataset_id: str, column: str, label_column: str, limit: date | datetime) -> Select:
    return (
        select(table.c[label_column])
        .where(table.c.dataset_id == dataset_id, table.c[column] > limit)
        .order_by(table.c.id)
    )


async def row_counts(session: AsyncSession, dataset_id: str) -> dict[str, int]:
    out = {}
    for name, table in (("customers", customers), ("credit_limits", credit_limits),
                        ("serasa_reports", serasa_reports), ("orders", orders)):
        query = select(func.count()).select_from(table).where(table.c.dataset_id == dataset_id)
        out[name] = int(await session.scalar(query) or 0)
    return out


async def outcome_counts(session: AsyncSession, dataset_id: str) -> dict[str, int]:
    query = (
        select(orders.c.status, func.count())
        .where(orders.c.dataset_id == dataset_id)
        .group_by(orders.c.status)
    )
    counts = {"billed": 0, "blocked": 0, "missing": 0}
    for status, n in await session.execute(query):
        counts[status or "missing"] = int(n)
    return counts


async def find_problems(session: AsyncSession, dataset_id: str, now: datetime) -> list[Problem]:
    today = now.date()
    naive_now = now.replace(tzinfo=None)
    checks = [
        ("duplicate_customer_id", "customer_id appears more than once",
         _duplicates(customers, dataset_id, "customer_id")),
        ("duplicate_order_id", "order_id appears more than once", _duplicates(orders, dataset_id, "order_id")),
        ("duplicate_credit_limit", "two credit limits of a customer share a valid_from (customer@date)",
         _duplicates(credit_limits, dataset_id, "customer_id", "valid_from")),
        ("duplicate_serasa_report", "two Serasa reports of a customer share a queried_at (customer@date)",
         _duplicates(serasa_reports, dataset_id, "customer_id", "queried_at")),
        ("unknown_customer_in_credit_limits", "credit limit of a customer_id not uploaded as a customer",
         _orphans(credit_limits, dataset_id, "customer_id")),
        ("unknown_customer_in_serasa_reports", "Serasa report of a customer_id not uploaded as a customer",
         _orphans(serasa_reports, dataset_id, "customer_id")),
        ("unknown_customer_in_orders", "order of a customer_id not uploaded as a customer",
         _orphans(orders, dataset_id, "order_id")),
        ("future_customer_since", "customer_since is in the future",
         _future(customers, dataset_id, "customer_since", "customer_id", today)),
        ("future_valid_from", "credit limit valid_from is in the future",
         _future(credit_limits, dataset_id, "valid_from", "customer_id", today)),
        ("future_queried_at", "Serasa report queried_at is in the future",
         _future(serasa_reports, dataset_id, "queried_at", "customer_id", today)),
        ("future_ordered_at", "order ordered_at is in the future",
         _future(orders, dataset_id, "ordered_at", "order_id", naive_now)),
        ("order_without_status", "order has no status (billed or blocked)",
         select(orders.c.order_id).where(orders.c.dataset_id == dataset_id, orders.c.status.is_(None))
         .order_by(orders.c.id)),
    ]
    problems = []
    for code, message, query in checks:
        problem = await _problem(session, code, message, query)
        if problem is not None:
            problems.append(problem)
    return problems


FAR_ABOVE_USUAL = 1_000  # an amount this many times the dataset's median order
FAR_ABOVE_LIMIT = 100  # an amount this many times the customer's largest credit limit


async def median_amount(session: AsyncSession, dataset_id: str) -> float | None:
    """The dataset's median order amount (the lower middle value), portably: ORDER BY + OFFSET."""
    count = await session.scalar(select(func.count()).select_from(orders).where(orders.c.dataset_id == dataset_id))
    if not count:
        return None
    query = (select(orders.c.amount).where(orders.c.dataset_id == dataset_id)
             .order_by(orders.c.amount, orders.c.id).offset((count - 1) // 2).limit(1))
    return await session.scalar(query)


async def find_warnings(session: AsyncSession, dataset_id: str) -> list[Problem]:
    """Values that are possible but suspicious: reported, never a reason to refuse the dataset."""
    customer = and_(customers.c.dataset_id == dataset_id, customers.c.customer_id == orders.c.customer_id)
    largest_limit = (select(func.max(credit_limits.c.limit_amount))
                     .where(credit_limits.c.dataset_id == dataset_id,
                            credit_limits.c.customer_id == orders.c.customer_id)
                     .scalar_subquery())
    checks = [
        ("order_before_customer_since", "order placed before the customer's customer_since",
         select(orders.c.order_id).join(customers, customer)
         # an instant before the date's midnight, on every backend (SQLite compares the ISO texts)
         .where(orders.c.dataset_id == dataset_id, orders.c.ordered_at < customers.c.customer_since)
         .order_by(orders.c.id)),
        ("amount_far_above_limit", f"order amount above {FAR_ABOVE_LIMIT}x the customer's largest credit limit",
         select(orders.c.order_id).where(orders.c.dataset_id == dataset_id, largest_limit > 0,
                                         orders.c.amount > FAR_ABOVE_LIMIT * largest_limit).order_by(orders.c.id)),
        ("zero_credit_limit", "credit limit of zero (customer@valid_from)",
         select(credit_limits.c.customer_id, credit_limits.c.valid_from)
         .where(credit_limits.c.dataset_id == dataset_id, credit_limits.c.limit_amount == 0)
         .order_by(credit_limits.c.id)),
    ]
    median = await median_amount(session, dataset_id)
    if median:
        checks.append(("amount_far_above_usual", f"order amount above {FAR_ABOVE_USUAL:,}x the median order "
                                                 f"(R$ {median:,.2f})",
                       select(orders.c.order_id).where(orders.c.dataset_id == dataset_id,
                                                       orders.c.amount > FAR_ABOVE_USUAL * median)
                       .order_by(orders.c.id)))
    warnings = []
    for code, message, query in checks:
        if (warning := await _problem(session, code, message, query)) is not None:
            warnings.append(warning)
    return warnings
