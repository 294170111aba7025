"""Point-in-time features for order credit decisions.

One function, `build_features`, serves both training (every order of a dataset is a target and
the history) and evaluation; live decisions use `app.ml.live`, held equal to it bit for bit.
Every value is what was known at the target's `ordered_at`:

- customer fields are static; tenure is counted up to the order date;
- the credit limit in force is the latest `valid_from` <= the order date;
- the Serasa report is the latest `queried_at` <= the order date (a report queried on the order
  date counts as known, dates have no time of day);
- past behaviour uses only history orders of the same customer with `ordered_at` strictly before
  the target's, so neither the target itself nor an order at the same instant is ever seen.

Ratios (`amount_to_limit`, `amount_to_past_mean`) are null when the denominator is missing or
not positive; the raw `limit_amount` still tells the model that a zero limit exists. Past counts
and the mean amount cover every earlier order whatever its status; `past_block_rate` is blocked
over earlier orders with a known status. Exposures sum the earlier **billed** orders (a blocked
order was never billed) in the windows [t - 30 days, t) and [t - 90 days, t).
The order date is the UTC date of `ordered_at`. Duplicates: the last row of a customer wins;
limits and reports keep the last row per (customer, date) and rows without a date are dropped.

Each entity kind computes its own columns (`app.ml.blocks`, one module per kind); this module
aligns them with the targets and fixes the column order.
"""

from collections.abc import Sequence

import numpy as np
import polars as pl

from app.ml import schema
from app.ml.blocks import BLOCKS, credit_limits, customers, orders, serasa_reports
from app.ml.blocks.base import DATE
from app.ml.errors import FeatureError
from app.ml.history import History

UFS = customers.UFS
SERASA_FEATURES = serasa_reports.SERASA_FEATURES
ORDER_FEATURES = ("amount", "payment_terms_days")
CUSTOMER_FEATURES = customers.NAMES
LIMIT_FEATURES = credit_limits.NAMES
HISTORY_FEATURES = orders.NAMES

FEATURE_NAMES: tuple[str, ...] = (*ORDER_FEATURES, *(name for block in BLOCKS for name in block.names))
"""Model input columns, in the stable order of `feature_matrix`: the order's own, then each
kind's in `BLOCKS` order (customer, limit, Serasa features, serasa_score, serasa_age_days, past
orders)."""

OUTPUT_COLUMNS: tuple[str, ...] = ("order_id", "customer_id", "ordered_at", *FEATURE_NAMES, "label")

_ROW = "_row"


def build_features(targets: pl.DataFrame, history: History) -> pl.DataFrame:
    """Build one feature row per target order, in the order of `targets`.

    Returns `order_id, customer_id, ordered_at`, every `FEATURE_NAMES` column (Float64, null when
    unknown) and `label` (Int8: 1 blocked, 0 billed, null without status). `history["orders"]`
    holds the orders whose earlier behaviour may be used; it may include the targets themselves.
    """
    if not isinstance(history, History):
        raise TypeError(f"history must be a History (conformed once), not {type(history).__name__}")
    keys = _targets(schema.conform("orders", targets))
    blocks = [keys, *(block.batch(keys, history[block.kind]) for block in BLOCKS)]
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


def _targets(frame: pl.DataFrame) -> pl.DataFrame:
    """Target keys sorted by time (every block is aligned with this order), with the label."""
    if frame.select(pl.col("customer_id", "ordered_at").is_null().any()).row(0) != (False, False):
        raise FeatureError("target orders need customer_id and ordered_at")
    status = pl.col("status").str.strip_chars().str.to_lowercase()
    label = pl.when(status == "blocked").then(1).when(status == "billed").then(0).cast(pl.Int8)
    keys = frame.with_row_index(_ROW).select(
        _ROW,
        "order_id",
        "customer_id",
        "ordered_at",
        pl.col("ordered_at").dt.date().alias(DATE),
        "amount",
        "payment_terms_days",
        label.alias("label"),
    )
    if not keys["ordered_at"].is_sorted():
        keys = keys.sort("ordered_at", maintain_order=True)
    return keys
