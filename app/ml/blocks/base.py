"""What one entity kind contributes to the features, and helpers shared by the kinds.

A `KindBlock` is a small strategy (STYLE #16): the feature names of one kind, its Polars block
for `build_features`, and for live decisions its reducer (the customer's stored rows -> a
compact, hashable state), its item reducer (one validated upload item -> the same state) and its
evaluator (state + order -> values). Both sides of a kind live in one module, so the batch and
the live definitions of a feature sit next to each other (the parity tests hold them equal).

Keys passed to `batch` are the targets sorted by time: `customer_id`, `ordered_at`, the order
date `DATE` (UTC), `amount` and more; a block returns its `names` columns in that row order.
Live, days count from 1970-01-01 and instants are microseconds since then (naive UTC), Polars'
own representations of `Date` and `Datetime("us")`, so comparisons and differences are integer.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

DATE = "_order_date"
"""Column of the targets' keys: the UTC date of `ordered_at`."""

_EPOCH_DATE = date(1970, 1, 1)

State = Hashable
Batch = Callable[[pl.DataFrame, pl.DataFrame], pl.DataFrame]
Evaluate = Callable[[Any, int, int, float], tuple[float | None, ...]]
"""(state, order day, order instant in µs, amount) -> the kind's values, in `names` order."""


@dataclass(frozen=True, slots=True)
class KindBlock:
    """One entity kind's share of the features (see the module docstring)."""

    kind: str
    names: tuple[str, ...]
    batch: Batch
    """(target keys, the kind's conformed frame) -> `names` columns aligned with the keys."""
    reduce: Callable[[pl.DataFrame], State]
    """One customer's conformed rows -> the live state."""
    evaluate: Evaluate
    empty: State
    """The state of a customer with no row of this kind."""
    item: Callable[[Mapping[str, Any] | None], State] | None = None
    """One validated upload item (or None) -> the same state `reduce` gives for that one row;
    None when the kind cannot be sent as a decision's context."""


def days_between(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    return (later - earlier).dt.total_days().cast(pl.Float64)


def to_float(value: Any) -> float | None:
    return None if value is None else float(value)


def day_number(value: date) -> int:
    """Days since 1970-01-01, as Polars stores a `Date`."""
    return (value - _EPOCH_DATE).days
