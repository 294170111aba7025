"""What a company stored about a customer, reduced to a `CustomerSnapshot` (the live feature
kernel's input) and cached per (company, customer, data version); `context` items sent with a
decision replace the stored customer, limits or reports."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.history import Rows, customer_rows
from app.ml.history import History
from app.ml.live import CustomerSnapshot, item_snapshot, prepare_snapshot, replace_kinds
from app.schemas.decisions import DecisionContext
from app.services.training_worker import to_frame


class CustomerDataCache:
    """LRU of snapshots; the company's data version (bumped when a dataset becomes valid, read
    with the company on every request) makes new uploads visible in every replica. A miss reads
    the database in a short session of its own."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], capacity: int = 50_000) -> None:
        self.sessions = sessions
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str, int], CustomerSnapshot] = OrderedDict()
        self._loading: dict[tuple[str, str, int], asyncio.Future[CustomerSnapshot]] = {}

    async def get(self, company_id: str, data_version: int, customer_ids: list[str]) -> dict[str, CustomerSnapshot]:
        found, missing, waiting = {}, [], {}
        for customer_id in customer_ids:
            key = (company_id, customer_id, data_version)
            if (entry := self._entries.get(key)) is not None:
                self._entries.move_to_end(key)
                found[customer_id] = entry
            elif key in self._loading:  # another request is reading this customer: share its result
                waiting[customer_id] = self._loading[key]
            else:
                missing.append(customer_id)
        if missing:
            found.update(await self._load(company_id, data_version, missing))
        for customer_id, future in waiting.items():
            found[customer_id] = await asyncio.shield(future)
        return found

    async def _load(self, company_id: str, data_version: int, customer_ids: list[str]) -> dict[str, CustomerSnapshot]:
        keys = {c: (company_id, c, data_version) for c in customer_ids}
        futures = {c: asyncio.get_running_loop().create_future() for c in customer_ids}
        self._loading.update({keys[c]: futures[c] for c in customer_ids})
        try:
            async with self.sessions() as session:
                loaded = await load(session, company_id, customer_ids)
        except BaseException as exc:
            for future in futures.values():
                future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
                future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            for key in keys.values():
                self._loading.pop(key, None)
        for customer_id, snapshot in loaded.items():
            self._put(keys[customer_id], snapshot)
            futures[customer_id].set_result(snapshot)
        return loaded

    def _put(self, key: tuple[str, str, int], snapshot: CustomerSnapshot) -> None:
        self._entries[key] = snapshot
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)


async def load(session: AsyncSession, company_id: str, customer_ids: list[str]) -> dict[str, CustomerSnapshot]:
    rows = await customer_rows(session, company_id, customer_ids)
    # Milliseconds of Polars work: in a thread, so the event loop keeps answering other decisions.
    return await asyncio.to_thread(_snapshots, rows, customer_ids)


def _snapshots(rows: dict[str, Rows], customer_ids: list[str]) -> dict[str, CustomerSnapshot]:
    frames = {kind: to_frame(kind, value) for kind, value in rows.items()}
    # The same order uploaded in two datasets counts once (the latest upload wins).
    orders = frames["orders"].unique("order_id", keep="last", maintain_order=True)
    history = History({**frames, "orders": orders})
    return {customer_id: prepare_snapshot(customer_id, history) for customer_id in customer_ids}


def with_context(snapshot: CustomerSnapshot, context: DecisionContext | None, order_date: date) -> CustomerSnapshot:
    """Each context item replaces that part of the stored snapshot (the order history stays)."""
    if context is None:
        return snapshot
    items = {}
    for kind, item, date_key in (("customers", context.customer, None),
                                 ("credit_limits", context.credit_limit, "valid_from"),
                                 ("serasa_reports", context.serasa_report, "queried_at")):
        if item is not None:
            values = item.model_dump()
            if date_key is not None:
                values[date_key] = values[date_key] or order_date
            items[kind] = values
    return replace_kinds(snapshot, item_snapshot(snapshot.customer_id, items), items)
