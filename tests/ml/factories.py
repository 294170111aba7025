"""Small factories for hand-built cases: one dict per entity, overridable fields."""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import polars as pl

from app.ml import schema
from app.ml.history import History


def make_customer(**overrides: Any) -> dict[str, Any]:
    row = {
        "customer_id": "A",
        "document": "11222333000181",
        "name": "Comercial A Ltda",
        "simples_nacional": True,
        "mei": False,
        "final_consumer": False,
        "state": "SP",
        "customer_since": date(2020, 1, 1),
    }
    return row | overrides


def make_limit(**overrides: Any) -> dict[str, Any]:
    row = {"customer_id": "A", "limit_amount": 10_000.0, "valid_from": date(2023, 1, 1)}
    return row | overrides


def make_report(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"customer_id": "A", "queried_at": date(2023, 1, 1), "score": 700.0}
    row |= {name: 0.0 for name in schema.SERASA_PERCENT_FIELDS}
    row |= {name: 0 for name in schema.SERASA_COUNT_FIELDS}
    row |= {name: 0.0 for name in schema.SERASA_AMOUNT_FIELDS}
    row["paid_on_time"] = 100.0
    return row | overrides


def make_order(**overrides: Any) -> dict[str, Any]:
    row = {
        "order_id": "O1",
        "customer_id": "A",
        "ordered_at": datetime(2023, 6, 1, 10, 0),
        "amount": 1_000.0,
        "payment_terms_days": 30,
        "status": "billed",
    }
    return row | overrides


def frame(kind: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows of one kind as a frame with the canonical schema (empty list -> empty frame)."""
    return pl.DataFrame(rows or None, schema=schema.SCHEMAS[kind])


def make_history(**rows: Sequence[dict[str, Any]]) -> History:
    """Rows per kind (`customers=[...]`, `orders=[...]`) as a `History`; kinds not given are empty."""
    return History({kind: frame(kind, list(kind_rows)) for kind, kind_rows in rows.items()})
