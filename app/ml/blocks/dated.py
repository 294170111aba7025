"""Kinds known from a date on (credit limits, Serasa reports): the latest row on or before the
order date applies. Rows sharing (customer, date) keep the last one given (a later upload
supersedes) and rows without a date are dropped, in the batch join and in the live state alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import polars as pl

from app.ml.blocks.base import DATE, day_number


class Dated(NamedTuple):
    """Live state of a dated kind: distinct days ascending, and the values of each day.

    A named tuple rather than a frozen dataclass: built per decision with context items, and a
    tuple is built several times faster (`item_snapshot` stays at its ~10 µs)."""

    days: tuple[int, ...] = ()
    rows: tuple[tuple, ...] = ()


def asof_by_date(keys: pl.DataFrame, right: pl.DataFrame, date_col: str) -> pl.DataFrame:
    """Attach the latest `right` row per customer with `date_col` <= the order date."""
    right = (
        right.drop_nulls(["customer_id", date_col])
        .unique(["customer_id", date_col], keep="last", maintain_order=True)
        .sort(date_col)
    )
    return keys.select("customer_id", DATE, "amount").join_asof(
        right,
        left_on=DATE,
        right_on=date_col,
        by="customer_id",
        strategy="backward",
        check_sortedness=False,
        coalesce=False,
    )


def reduce_dated(frame: pl.DataFrame, date_col: str, values: list[pl.Expr]) -> Dated:
    """Distinct days of `date_col`, ascending, and `values` of the last row given for each."""
    latest: dict[int, tuple] = {}
    for day, *row in frame.select(pl.col(date_col).cast(pl.Int32), *values).iter_rows():
        if day is not None:
            latest[day] = tuple(row)
    days = sorted(latest)
    return Dated(tuple(days), tuple(latest[day] for day in days))


def item_dated(
    item: Mapping[str, Any] | None, date_key: str, values: Callable[[Mapping[str, Any]], tuple]
) -> Dated:
    """`reduce_dated` of a single item, in plain Python."""
    if item is None or item.get(date_key) is None:
        return Dated()
    return Dated((day_number(item[date_key]),), (values(item),))
