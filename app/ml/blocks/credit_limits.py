"""Credit limits: the limit in force is the latest `valid_from` on or before the order date.

`amount_to_limit` is null when the limit is missing or not positive; the raw `limit_amount`
still tells the model that a zero limit exists.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from typing import Any

import polars as pl

from app.ml.blocks.base import DATE, KindBlock, days_between, to_float
from app.ml.blocks.dated import Dated, asof_by_date, item_dated, reduce_dated

NAMES = ("limit_amount", "amount_to_limit", "limit_age_days")

_NONE = (None, None, None)


def _batch(keys: pl.DataFrame, limits: pl.DataFrame) -> pl.DataFrame:
    limit = pl.col("limit_amount")
    return asof_by_date(keys, limits, "valid_from").select(
        limit,
        pl.when(limit > 0).then(pl.col("amount") / limit).alias("amount_to_limit"),
        days_between(pl.col(DATE), pl.col("valid_from")).alias("limit_age_days"),
    )


def _reduce(limits: pl.DataFrame) -> Dated:
    """Per day: `limit_amount` and the divisor of `amount_to_limit` (null unless > 0)."""
    limit = pl.col("limit_amount")
    return reduce_dated(limits, "valid_from", [limit, pl.when(limit > 0).then(limit).alias("_divisor")])


def _values(item: Mapping[str, Any]) -> tuple[float | None, float | None]:
    limit = to_float(item.get("limit_amount"))
    return limit, (limit if limit is not None and limit > 0 else None)


def _item(item: Mapping[str, Any] | None) -> Dated:
    return item_dated(item, "valid_from", _values)


def _evaluate(state: Dated, day: int, now: int, amount: float) -> tuple[float | None, ...]:
    i = bisect_right(state.days, day)
    if not i:
        return _NONE
    limit, divisor = state.rows[i - 1]
    return limit, None if divisor is None else amount / divisor, float(day - state.days[i - 1])


BLOCK = KindBlock("credit_limits", NAMES, _batch, _reduce, _evaluate, Dated(), _item)
