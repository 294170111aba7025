"""Point-in-time features for order credit decisions.

One function, `build_features`, serves both training (every order of a dataset is a target and
the history) and a live decision (one new order, the customer's stored orders as history), so
training and serving cannot disagree. Every value is what was known at the target's `ordered_at`:

- customer fields are static; tenure is counted up to the order date;
- the credit limit in force is the latest `valid_from` <= the order date;
- the Serasa report is the latest `queried_at` <= the order date (a report queried on the order
  date counts as known, dates have no time of day);
- past behaviour uses only history orders of the same customer with `ordered_at` strictly before
  the target's, so neither the target itself nor an order at the same instant is ever seen.

Ratios (`amount_to_limit`, `amount_to_past_mean`) are null when the denominator is missing or
not positive; the raw `limit_amount` still tells the model that a zero limit exists. Past counts
and exposures cover every earlier order whatever its status; `past_block_rate` is blocked over
earlier orders with a known status. Exposure windows are [t - 30 days, t) and [t - 90 days, t).
The order date is the UTC date of `ordered_at`. Duplicates: the last row of a customer wins;
limits and reports keep the last row per (customer, date) and rows without a date are dropped.
"""

from collections.abc import Sequence

import numpy as np
import polars as pl

from app.ml import schema
from app.ml.errors import FeatureError

UFS: tuple[str, ...] = (
    "AC", "AL", "AM", "AP", "BA", "CE", "DF", "ES", "GO", "MA", "MG", "MS", "MT", "PA",
    "PB", "PE", "PI", "PR", "RJ", "RN", "RO", "RR", "RS", "SC", "SE", "SP", "TO",
)  # fmt: skip
"""The 27 federative units; `state_code` is the index in this fixed tuple."""

SERASA_FEATURES: tuple[str, ...] = tuple(
    name for name in schema.SERASA_REPORTS if name not in ("customer_id", "queried_at", "score")
)

ORDER_FEATURES = ("amount", "payment_terms_days")
CUSTOMER_FEATURES = ("simples_nacional", "mei", "final_consumer", "state_code", "tenure_days")
LIMIT_FEATURES = ("limit_amount", "amount_to_limit", "limit_age_days")
HISTORY_FEATURES = (
    "past_orders_count",
    "past_blocked_count",
    "past_block_rate",
    "past_mean_amount",
    "amount_to_past_mean",
    "exposure_30d",
    "exposure_90d",
    "days_since_previous_order",
)

FEATURE_NAMES: tuple[str, ...] = (
    *ORDER_FEATURES,
    *CUSTOMER_FEATURES,
    *LIMIT_FEATURES,
    *SERASA_FEATURES,
    "serasa_score",
    "serasa_age_days",
    *HISTORY_FEATURES,
)
"""Model input columns, in the stable order of `feature_matrix`."""

OUTPUT_COLUMNS: tuple[str, ...] = ("order_id", "customer_id", "ordered_at", *FEATURE_NAMES, "label")

_ROW = "_row"
_DATE = "_order_date"
_MICROSECONDS_PER_DAY = 86_400_000_000.0


def build_features(
    targets: pl.DataFrame,
    customers: pl.DataFrame,
    credit_limits: pl.DataFrame,
    serasa_reports: pl.DataFrame,
    history: pl.DataFrame,
) -> pl.DataFrame:
    """Build one feature row per target order, in the order of `targets`.

    Returns `order_id, customer_id, ordered_at`, every `FEATURE_NAMES` column (Float64, null when
    unknown) and `label` (Int8: 1 blocked, 0 billed, null without status). `history` holds the
    orders whose earlier behaviour may be used; it may include the targets themselves.
    """
    keys = _targets(schema.conform("orders", targets))
    blocks = [
        keys,
        _customer_block(keys, schema.conform("customers", customers)),
        _limit_block(keys, schema.conform("credit_limits", credit_limits)),
        _serasa_block(keys, schema.conform("serasa_reports", serasa_reports)),
        _history_block(keys, schema.conform("orders", history)),
    ]
    out = pl.concat(blocks, how="horizontal").select(
        _ROW,
        "order_id",
        "customer_id",
        "ordered_at",
        *[pl.col(name).cast(pl.Float64) for name in FEATURE_NAMES],
        "label",
    )
    if not out[_ROW].is_sorted():
        out = out.sort(_ROW)
    return out.drop(_ROW)


def feature_matrix(df: pl.DataFrame, names: Sequence[str] = FEATURE_NAMES) -> np.ndarray:
    """Float32 matrix of the `names` columns (nulls become NaN), C-contiguous.

    Pass a stored model's own feature list as `names` to score with that model.
    """
    values = df.select([pl.col(n).cast(pl.Float32) for n in names]).to_numpy(order="c")
    return np.ascontiguousarray(values, dtype=np.float32)


def _targets(orders: pl.DataFrame) -> pl.DataFrame:
    """Target keys sorted by time (every block is aligned with this order), with the label."""
    if orders.select(pl.col("customer_id", "ordered_at").is_null().any()).row(0) != (False, False):
        raise FeatureError("target orders need customer_id and ordered_at")
    status = pl.col("status").str.strip_chars().str.to_lowercase()
    label = pl.when(status == "blocked").then(1).when(status == "billed").then(0).cast(pl.Int8)
    keys = orders.with_row_index(_ROW).select(
        _ROW,
        "order_id",
        "customer_id",
        "ordered_at",
        pl.col("ordered_at").dt.date().alias(_DATE),
        "amount",
        "payment_terms_days",
        label.alias("label"),
    )
    if not keys["ordered_at"].is_sorted():
        keys = keys.sort("ordered_at", maintain_order=True)
    return keys


def _days(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    return (later - earlier).dt.total_days().cast(pl.Float64)


def _customer_block(keys: pl.DataFrame, customers: pl.DataFrame) -> pl.DataFrame:
    state = pl.col("state").str.strip_chars().str.to_uppercase()
    static = customers.unique("customer_id", keep="last", maintain_order=True).select(
        "customer_id",
        pl.col("simples_nacional", "mei", "final_consumer").cast(pl.Float64),
        state.replace_strict(UFS, range(len(UFS)), default=None, return_dtype=pl.Float64).alias(
            "state_code"
        ),
        "customer_since",
    )
    joined = keys.select("customer_id", _DATE).join(
        static, on="customer_id", how="left", maintain_order="left"
    )
    return joined.select(
        pl.col("simples_nacional", "mei", "final_consumer", "state_code"),
        _days(pl.col(_DATE), pl.col("customer_since")).alias("tenure_days"),
    )


def _asof_by_date(keys: pl.DataFrame, right: pl.DataFrame, date_col: str) -> pl.DataFrame:
    """Attach the latest `right` row per customer with `date_col` <= the order date.

    Rows sharing (customer, date) keep the last one given (a later upload supersedes).
    """
    right = (
        right.drop_nulls(["customer_id", date_col])
        .unique(["customer_id", date_col], keep="last", maintain_order=True)
        .sort(date_col)
    )
    return keys.select("customer_id", _DATE, "amount").join_asof(
        right,
        left_on=_DATE,
        right_on=date_col,
        by="customer_id",
        strategy="backward",
        check_sortedness=False,
        coalesce=False,
    )


def _limit_block(keys: pl.DataFrame, limits: pl.DataFrame) -> pl.DataFrame:
    limit = pl.col("limit_amount")
    return _asof_by_date(keys, limits, "valid_from").select(
        limit,
        pl.when(limit > 0).then(pl.col("amount") / limit).alias("amount_to_limit"),
        _days(pl.col(_DATE), pl.col("valid_from")).alias("limit_age_days"),
    )


def _serasa_block(keys: pl.DataFrame, reports: pl.DataFrame) -> pl.DataFrame:
    reports = reports.rename({"score": "serasa_score"})
    return _asof_by_date(keys, reports, "queried_at").select(
        *SERASA_FEATURES,
        "serasa_score",
        _days(pl.col(_DATE), pl.col("queried_at")).alias("serasa_age_days"),
    )


def _history_steps(history: pl.DataFrame) -> pl.DataFrame:
    """Running per-customer totals after each distinct order instant of the history, by time.

    Orders sharing an instant collapse into one step (the last running total), so that an as-of
    join with `allow_exact_matches=False` sees all of them or none of them. Amounts are summed in
    integer cents, so window sums (differences of running totals) are exact.
    """
    status = pl.col("status").str.strip_chars().str.to_lowercase()
    rows = history.drop_nulls(["customer_id", "ordered_at"]).select(
        "customer_id",
        "ordered_at",
        pl.lit(1, pl.Int64).alias("n"),
        (pl.col("amount").fill_null(0.0) * 100).round().cast(pl.Int64).alias("cents"),
        status.is_in(["blocked", "billed"]).fill_null(False).cast(pl.Int64).alias("known"),
        (status == "blocked").fill_null(False).cast(pl.Int64).alias("blocked"),
    )
    if not rows["ordered_at"].is_sorted():
        rows = rows.sort("ordered_at")
    totals = ("n", "cents", "known", "blocked")
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


def _history_block(keys: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """Past behaviour: totals strictly before the order, and 30/90-day windows [t - d, t)."""
    steps = _history_steps(history)
    at = pl.col("ordered_at")
    left = keys.select(
        "customer_id",
        "amount",
        at.alias("_now"),
        (at - pl.duration(days=30)).alias("_30d"),
        (at - pl.duration(days=90)).alias("_90d"),
    )
    cents = steps.select("customer_id", "ordered_at", "cum_cents")
    parts = [
        left.select("amount", "_now"),
        _totals_before(left, steps, "_now").drop("customer_id", "_now"),
        _totals_before(left, cents, "_30d").select("cum_cents_30d"),
        _totals_before(left, cents, "_90d").select("cum_cents_90d"),
    ]
    return pl.concat(parts, how="horizontal").select(_history_expressions())


def _history_expressions() -> list[pl.Expr]:
    """Turn running totals into features; a customer without earlier orders has count 0."""
    n = pl.col("cum_n_now").fill_null(0)
    cents = pl.col("cum_cents_now").fill_null(0)
    mean = pl.when(n > 0).then(cents / (n * 100))
    gap = (pl.col("_now") - pl.col("ordered_at_now")).dt.total_microseconds()
    known, blocked = pl.col("cum_known_now"), pl.col("cum_blocked_now")
    return [
        n.alias("past_orders_count"),
        blocked.fill_null(0).alias("past_blocked_count"),
        pl.when(known > 0).then(blocked / known).alias("past_block_rate"),
        mean.alias("past_mean_amount"),
        pl.when(mean > 0).then(pl.col("amount") / mean).alias("amount_to_past_mean"),
        _exact_div(cents - pl.col("cum_cents_30d").fill_null(0), 100.0).alias("exposure_30d"),
        _exact_div(cents - pl.col("cum_cents_90d").fill_null(0), 100.0).alias("exposure_90d"),
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
