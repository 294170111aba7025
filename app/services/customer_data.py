"""What a company stored about a customer, reduced to a `CustomerSnapshot` (the live feature
kernel's input) and cached per (company, customer, data version); `context` items sent with a
decision replace the stored customer, limits or reports."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from datetime import date

import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.history import customer_rows
from app.ml.live import CustomerSnapshot, prepare_snapshot
from app.ml.schema import SCHEMAS, conform
from app.schemas.decisions import DecisionContext
from app.services.training_worker import to_frame

NO_CUSTOMER = (None, None, None, None, None)


def is_empty(snapshot: CustomerSnapshot) -> bool:
    return (snapshot.customer == NO_CUSTOMER and not snapshot.limit_days and not snapshot.report_days
            and not snapshot.instants)


class CustomerDataCache:
    """LRU of snapshots; the company's data version (bumped when a dataset becomes valid, read
    with the company on every request) makes new uploads visible in every replica."""

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str, int], CustomerSnapshot] = OrderedDict()

    async def get(self, session: AsyncSession, company_id: str, data_version: int,
                  customer_ids: list[str]) -> dict[str, CustomerSnapshot]:
        found, missing = {}, []
        for customer_id in customer_ids:
            key = (company_id, customer_id, data_version)
            entry = self._entries.get(key)
            if entry is None:
                missing.append(customer_id)
            else:
                self._entries.move_to_end(key)
                found[customer_id] = entry
        if missing:
            loaded = await load(session, company_id, missing)
            for customer_id, snapshot in loaded.items():
                self._put((company_id, customer_id, data_version), snapshot)
            found.update(loaded)
        return found

    def _put(self, key: tuple[str, str, int], snapshot: CustomerSnapshot) -> None:
        self._entries[key] = snapshot
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)


async def load(session: AsyncSession, company_id: str, customer_ids: list[str]) -> dict[str, CustomerSnapshot]:
    rows = await customer_rows(session, company_id, customer_ids)
    frames = {kind: to_frame(kind, value) for kind, value in rows.items()}
    # The same order uploaded in two datasets counts once (the latest upload wins).
    orders = frames["orders"].unique("order_id", keep="last", maintain_order=True)
    return {
        customer_id: prepare_snapshot(customer_id, frames["customers"], frames["credit_limits"],
                                      frames["serasa_reports"], orders)
        for customer_id in customer_ids
    }


def with_context(snapshot: CustomerSnapshot, context: DecisionContext | None, order_date: date) -> CustomerSnapshot:
    """Each context item replaces that part of the stored snapshot (the order history stays)."""
    if context is None:
        return snapshot
    customer_id = snapshot.customer_id
    frames = {kind: pl.DataFrame(schema=schema) for kind, schema in SCHEMAS.items()}
    items = {"customers": context.customer, "credit_limits": context.credit_limit,
             "serasa_reports": context.serasa_report}
    dates = {"credit_limits": "valid_from", "serasa_reports": "queried_at"}
    for kind, item in items.items():
        if item is not None:
            values = item.model_dump() | {"customer_id": customer_id}
            if kind in dates:
                values[dates[kind]] = values[dates[kind]] or order_date
            frames[kind] = conform(kind, pl.DataFrame([values]))
    given = prepare_snapshot(customer_id, frames["customers"], frames["credit_limits"],
                             frames["serasa_reports"], frames["orders"])
    changes = {}
    if context.customer is not None:
        changes["customer"] = given.customer
    if context.credit_limit is not None:
        changes |= {"limit_days": given.limit_days, "limits": given.limits}
    if context.serasa_report is not None:
        changes |= {"report_days": given.report_days, "reports": given.reports}
    return replace(snapshot, **changes)
