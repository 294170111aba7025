"""Serasa reports: the latest report queried on or before the order date (a report of the order
date counts as known: dates have no time of day), its fields, score and age."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from typing import Any

import polars as pl

from app.ml import schema
from app.ml.blocks.base import DATE, KindBlock, days_between
from app.ml.blocks.dated import Dated, asof_by_date, item_dated, reduce_dated

SERASA_FEATURES: tuple[str, ...] = tuple(
    name for name in schema.SERASA_REPORTS if name not in ("customer_id", "queried_at", "score")
)
NAMES = (*SERASA_FEATURES, "serasa_score", "serasa_age_days")

_VALUES = (*SERASA_FEATURES, "score")
"""Per report day in the live state: these values, as floats."""
_NONE = (None,) * len(NAMES)


def _batch(keys: pl.DataFrame, reports: pl.DataFrame) -> pl.DataFrame:
    reports = reports.rename({"score": "serasa_score"})
    return asof_by_date(keys, reports, "queried_at").select(
        *SERASA_FEATURES,
        "serasa_score",
        days_between(pl.col(DATE), pl.col("queried_at")).alias("serasa_age_days"),
    )


def _reduce(reports: pl.DataFrame) -> Dated:
    return reduce_dated(reports, "queried_at", [pl.col(name).cast(pl.Float64) for name in _VALUES])


def _values(item: Mapping[str, Any]) -> tuple[float | None, ...]:
    # `to_float` inlined: 27 calls of it were a tenth of `item_snapshot`'s time
    return tuple([None if (value := item.get(name)) is None else float(value) for name in _VALUES])


def _item(item: Mapping[str, Any] | None) -> Dated:
    return item_dated(item, "queried_at", _values)


def _evaluate(state: Dated, day: int, now: int, amount: float) -> tuple[float | None, ...]:
    i = bisect_right(state.days, day)
    if not i:
        return _NONE
    return *state.rows[i - 1], float(day - state.days[i - 1])


BLOCK = KindBlock("serasa_reports", NAMES, _batch, _reduce, _evaluate, Dated(), _item)
