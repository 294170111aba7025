"""Past orders: the customer's behaviour strictly before the order.

Only history orders of the same customer with `ordered_at` strictly before the target's count,
so neither the target itself nor an order at the same instant is ever seen. Counts and the mean
amount cover every earlier order whatever its status; `past_block_rate` is blocked over earlier
orders with a known status; `amount_to_past_mean` is null unless the mean is positive. Exposures
sum the earlier orders that were **billed** (a blocked order never became a receivable) in the
windows [t - 30 days, t) and [t - 90 days, t). Amounts are summed in integer cents, so window sums
(differences of running totals) are exact in both implementations.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import NamedTuple

import polars as pl

from app.ml.blocks.base import KindBlock

NAMES = (
    "past_orders_count",
    "past_blocked_count",
    "past_block_rate",
    "past_mean_amount",
    "amount_to_past_mean",
    "exposure_30d",
    "exposure_90d",
    "days_since_previous_order",
)

_US_PER_DAY = 86_400_000_000
_MICROSECONDS_PER_DAY = 86_400_000_000.0
_30_DAYS = 30 * _US_PER_DAY
_90_DAYS = 90 * _US_PER_DAY
_NONE = (0.0, 0.0, None, None, None, 0.0, 0.0, None)


class Steps(NamedTuple):
    """Live state: distinct order instants ascending, and per instant the running totals of
    orders, cents, known statuses, blocked and billed cents, inclusive of every order at that
    instant."""

    instants: tuple[int, ...] = ()
    totals: tuple[tuple[int, int, int, int, int], ...] = ()


def _per_order() -> list[pl.Expr]:
    """Per order: its cents, whether its status is known (0/1), whether it was blocked (0/1) and
    its cents if it was billed (else 0)."""
    status = pl.col("status").str.strip_chars().str.to_lowercase()
    cents = (pl.col("amount").fill_null(0.0) * 100).round().cast(pl.Int64)
    return [
        cents.alias("cents"),
        status.is_in(["blocked", "billed"]).fill_null(False).cast(pl.Int64).alias("known"),
        (status == "blocked").fill_null(False).cast(pl.Int64).alias("blocked"),
        pl.when(status == "billed").then(cents).otherwise(0).alias("billed"),
    ]


# --- batch -------------------------------------------------------------------------------------


def _steps(history: pl.DataFrame) -> pl.DataFrame:
    """Running per-customer totals after each distinct order instant of the history, by time.

    Orders sharing an instant collapse into one step (the last running total), so that an as-of
    join with `allow_exact_matches=False` sees all of them or none of them.
    """
    rows = history.drop_nulls(["customer_id", "ordered_at"]).select(
        "customer_id", "ordered_at", pl.lit(1, pl.Int64).alias("n"), *_per_order()
    )
    if not rows["ordered_at"].is_sorted():
        rows = rows.sort("ordered_at")
    totals = ("n", "cents", "known", "blocked", "billed")
    return rows.select(
        "customer_id",
        "ordered_at",
        *[pl.col(c).cum_sum().over("customer_id").alias(f"cum_{c}") for c in totals],
    ).filter(pl.struct("customer_id", "ordered_at").is_last_distinct())


def _totals_before(left: pl.DataFrame, steps: pl.DataFrame, key: str) -> pl.DataFrame:
    """Running totals of the last history step strictly before `key` (per customer)."""
    right = steps.rename(lambda c: c if c == "customer_id" else f"{c}{key}")
    return left.select("customer_id", key).join_asof(
        right,
        left_on=key,
        right_on=f"ordered_at{key}",
        by="customer_id",
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
        coalesce=False,
    )


def _batch(keys: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """Totals strictly before the order, and 30/90-day windows [t - d, t)."""
    steps = _steps(history)
    at = pl.col("ordered_at")
    left = keys.select(
        "customer_id",
        "amount",
        at.alias("_now"),
        (at - pl.duration(days=30)).alias("_30d"),
        (at - pl.duration(days=90)).alias("_90d"),
    )
    billed = steps.select("customer_id", "ordered_at", "cum_billed")
    parts = [
        left.select("amount", "_now"),
        _totals_before(left, steps, "_now").drop("customer_id", "_now"),
        _totals_before(left, billed, "_30d").select("cum_billed_30d"),
        _totals_before(left, billed, "_90d").select("cum_billed_90d"),
    ]
    return pl.concat(parts, how="horizontal").select(_expressions())


def _expressions() -> list[pl.Expr]:
    """Turn running totals into features; a customer without earlier orders has count 0."""
    n = pl.col("cum_n_now").fill_null(0)
    cents = pl.col("cum_cents_now").fill_null(0)
    mean = pl.when(n > 0).then(cents / (n * 100))
    gap = (pl.col("_now") - pl.col("ordered_at_now")).dt.total_microseconds()
    known, blocked = pl.col("cum_known_now"), pl.col("cum_blocked_now")
    billed = pl.col("cum_billed_now").fill_null(0)
    return [
        n.alias("past_orders_count"),
        blocked.fill_null(0).alias("past_blocked_count"),
        pl.when(known > 0).then(blocked / known).alias("past_block_rate"),
        mean.alias("past_mean_amount"),
        pl.when(mean > 0).then(pl.col("amount") / mean).alias("amount_to_past_mean"),
        _exact_div(billed - pl.col("cum_billed_30d").fill_null(0), 100.0).alias("exposure_30d"),
        _exact_div(billed - pl.col("cum_billed_90d").fill_null(0), 100.0).alias("exposure_90d"),
        _exact_div(gap, _MICROSECONDS_PER_DAY).alias("days_since_previous_order"),
    ]


def _exact_div(numerator: pl.Expr, divisor: float) -> pl.Expr:
    """`numerator / divisor`, correctly rounded whatever the frame length.

    Polars divides long columns by a scalar through its reciprocal, which can differ in the last
    bit from the exact quotient it computes for a one-row frame; training and serving would then
    disagree. NumPy's division is exact at every length.
    """
    return numerator.cast(pl.Float64).map_batches(
        lambda s: pl.Series(s.name, s.to_numpy() / divisor).fill_nan(None),
        return_dtype=pl.Float64,
        is_elementwise=True,
    )


# --- live --------------------------------------------------------------------------------------


def _reduce(orders: pl.DataFrame) -> Steps:
    """Distinct order instants, ascending, and the running totals after all orders of each."""
    rows = orders.drop_nulls("ordered_at").select(pl.col("ordered_at").cast(pl.Int64), *_per_order())
    instants: list[int] = []
    totals: list[tuple[int, int, int, int, int]] = []
    n = cents = known = blocked = billed = 0
    for at, *step in sorted(rows.iter_rows()):
        n, cents, known, blocked, billed = (n + 1, cents + step[0], known + step[1], blocked + step[2],
                                            billed + step[3])
        if instants and instants[-1] == at:
            totals[-1] = (n, cents, known, blocked, billed)
        else:
            instants.append(at)
            totals.append((n, cents, known, blocked, billed))
    return Steps(tuple(instants), tuple(totals))


def _evaluate(state: Steps, day: int, now: int, amount: float) -> tuple[float | None, ...]:
    """Past behaviour from the last step strictly before `now`; windows are [now - d, now)."""
    i = bisect_left(state.instants, now)
    if not i:
        return _NONE
    instants, totals = state
    n, cents, known, blocked, billed = totals[i - 1]
    mean = float(cents) / float(n * 100)
    # billed cents of the steps before each window start, inline: this runs on every decision
    j30, j90 = bisect_left(instants, now - _30_DAYS, 0, i), bisect_left(instants, now - _90_DAYS, 0, i)
    return (
        float(n),
        float(blocked),
        float(blocked) / float(known) if known > 0 else None,
        mean,
        amount / mean if mean > 0 else None,
        float(billed - (totals[j30 - 1][4] if j30 else 0)) / 100.0,
        float(billed - (totals[j90 - 1][4] if j90 else 0)) / 100.0,
        float(now - instants[i - 1]) / 86_400_000_000.0,
    )


BLOCK = KindBlock("orders", NAMES, _batch, _reduce, _evaluate, Steps())
