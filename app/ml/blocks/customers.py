"""Customers: static flags and state, tenure counted up to the order date. Duplicates: the last
row given for a customer wins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from app.ml.blocks.base import DATE, KindBlock, day_number, days_between, to_float

UFS: tuple[str, ...] = (
    "AC", "AL", "AM", "AP", "BA", "CE", "DF", "ES", "GO", "MA", "MG", "MS", "MT", "PA",
    "PB", "PE", "PI", "PR", "RJ", "RN", "RO", "RR", "RS", "SC", "SE", "SP", "TO",
)  # fmt: skip
"""The 27 federative units; `state_code` is the index in this fixed tuple."""

NAMES = ("simples_nacional", "mei", "final_consumer", "state_code", "tenure_days")

_EMPTY: tuple[float | None, ...] = (None, None, None, None, None)
"""Live state: simples_nacional, mei, final_consumer, state_code (floats), customer_since (day)."""


def _state_code() -> pl.Expr:
    state = pl.col("state").str.strip_chars().str.to_uppercase()
    return state.replace_strict(UFS, range(len(UFS)), default=None, return_dtype=pl.Float64)


def _batch(keys: pl.DataFrame, customers: pl.DataFrame) -> pl.DataFrame:
    static = customers.unique("customer_id", keep="last", maintain_order=True).select(
        "customer_id",
        pl.col("simples_nacional", "mei", "final_consumer").cast(pl.Float64),
        _state_code().alias("state_code"),
        "customer_since",
    )
    joined = keys.select("customer_id", DATE).join(
        static, on="customer_id", how="left", maintain_order="left"
    )
    return joined.select(
        pl.col("simples_nacional", "mei", "final_consumer", "state_code"),
        days_between(pl.col(DATE), pl.col("customer_since")).alias("tenure_days"),
    )


def _reduce(customers: pl.DataFrame) -> tuple[float | None, ...]:
    if customers.is_empty():
        return _EMPTY
    return customers.tail(1).select(
        pl.col("simples_nacional", "mei", "final_consumer").cast(pl.Float64),
        _state_code(),
        pl.col("customer_since").cast(pl.Int32),
    ).row(0)


def _item(item: Mapping[str, Any] | None) -> tuple[float | None, ...]:
    if item is None:
        return _EMPTY
    state = item.get("state")
    state = state.strip().upper() if isinstance(state, str) else None
    since = item.get("customer_since")
    return (to_float(item.get("simples_nacional")), to_float(item.get("mei")),
            to_float(item.get("final_consumer")), float(UFS.index(state)) if state in UFS else None,
            day_number(since) if since is not None else None)


def _evaluate(state: tuple, day: int, now: int, amount: float) -> tuple[float | None, ...]:
    simples, mei, final, code, since = state
    return simples, mei, final, code, None if since is None else float(day - since)


BLOCK = KindBlock("customers", NAMES, _batch, _reduce, _evaluate, _EMPTY, _item)
