"""What a company stored about a customer, as the frames the feature function reads, cached per
(company, customer, data version); `context` items sent with a decision replace stored ones."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import date

import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.history import customer_rows
from app.ml.schema import conform
from app.schemas.decisions import DecisionContext
from app.services.training_worker import to_frame


@dataclass(frozen=True)
class CustomerData:
    customer_id: str
    customers: pl.DataFrame
    credit_limits: pl.DataFrame
    serasa_reports: pl.DataFrame
    orders: pl.DataFrame

    @property
    def is_empty(self) -> bool:
        frames = (self.customers, self.credit_limits, self.serasa_reports, self.orders)
        return all(frame.height == 0 for frame in frames)


class CustomerDataCache:
    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str, int], CustomerData] = OrderedDict()

    async def get(self, session: AsyncSession, company_id: str, data_version: int,
                  customer_ids: list[str]) -> dict[str, CustomerData]:
        found, missing = {}, []
        for customer_id in customer_ids:
            entry = self._entries.get((company_id, customer_id, data_version))
            if entry is None:
                missing.append(customer_id)
            else:
                found[customer_id] = entry
        if missing:
            loaded = await load(session, company_id, missing)
            for customer_id, data in loaded.items():
                self._put((company_id, customer_id, data_version), data)
            found.update(loaded)
        return found

    def _put(self, key: tuple[str, str, int], data: CustomerData) -> None:
        self._entries[key] = data
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)


async def load(session: AsyncSession, company_id: str, customer_ids: list[str]) -> dict[str, CustomerData]:
    rows = await customer_rows(session, company_id, customer_ids)
    frames = {kind: to_frame(kind, value) for kind, value in rows.items()}
    # The same order uploaded in two datasets counts once (the latest upload wins).
    frames["orders"] = frames["orders"].unique("order_id", keep="last", maintain_order=True)
    out = {}
    for customer_id in customer_ids:
        parts = {kind: frame.filter(pl.col("customer_id") == customer_id) for kind, frame in frames.items()}
        out[customer_id] = CustomerData(customer_id, **parts)
    return out


def with_context(data: CustomerData, context: DecisionContext | None, order_date: date) -> CustomerData:
    """Context items replace the stored customer, limits or reports of this customer."""
    if context is None:
        return data
    changes = {}
    if context.customer is not None:
        item = context.customer.model_dump() | {"customer_id": data.customer_id}
        changes["customers"] = conform("customers", pl.DataFrame([item]))
    if context.credit_limit is not None:
        item = context.credit_limit.model_dump() | {"customer_id": data.customer_id}
        item["valid_from"] = item["valid_from"] or order_date
        changes["credit_limits"] = conform("credit_limits", pl.DataFrame([item]))
    if context.serasa_report is not None:
        item = context.serasa_report.model_dump() | {"customer_id": data.customer_id}
        item["queried_at"] = item["queried_at"] or order_date
        changes["serasa_reports"] = conform("serasa_reports", pl.DataFrame([item]))
    return replace(data, **changes)
