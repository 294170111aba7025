"""The noisy credit rule that labels demo orders "blocked" or "billed".

It only looks at what the seller knew when the order arrived: limit usage (the order plus
the last 30 days of orders against the limit in force), the latest Serasa report's late
payments, negative records and score, tenure and terms. A per-customer "analyst mood" and
per-order noise keep a model from recovering it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from app.domain.serasa import NEGATIVE_COUNT_FIELDS

_INTERCEPT = -0.95
_CUSTOMER_NOISE = 0.5
_ORDER_NOISE = 1.2


@dataclass(frozen=True)
class OrderSignals:
    customer: np.ndarray
    usage: np.ndarray  # (amount + 30-day exposure) / limit in force
    tenure_years: np.ndarray
    payment_terms: np.ndarray
    late_share: np.ndarray  # % paid 16+ days late, plus 30% of the 8-15 days bucket
    negative_records: np.ndarray
    score: np.ndarray  # NaN when the report has none


def report_signals(reports: pl.DataFrame) -> dict[str, np.ndarray]:
    """Late share, negative record count and score from each order's latest report."""
    late = pl.sum_horizontal(
        "paid_16_30_days_late", "paid_31_60_days_late", "paid_over_60_days_late"
    )
    signals = reports.select(
        (late + 0.3 * pl.col("paid_8_15_days_late")).alias("late_share"),
        pl.sum_horizontal(NEGATIVE_COUNT_FIELDS).alias("negative_records"),
        pl.col("score").fill_null(float("nan")),
    )
    return {name: signals[name].to_numpy() for name in signals.columns}


def decide_blocked(rng: np.random.Generator, signals: OrderSignals, customers: int) -> np.ndarray:
    """True for blocked orders."""
    missing_score = np.isnan(signals.score)
    logit = (
        _INTERCEPT
        + 1.4 * np.clip(signals.usage - 0.9, -0.9, 1.5)
        + 0.025 * signals.late_share
        + 0.5 * np.log1p(signals.negative_records)
        + 0.002 * (600.0 - np.where(missing_score, 600.0, signals.score))
        + 0.2 * missing_score
        - 0.2 * np.log1p(signals.tenure_years)
        + 0.004 * (signals.payment_terms - 30)
        + rng.normal(0.0, _CUSTOMER_NOISE, customers)[signals.customer]
        + rng.normal(0.0, _ORDER_NOISE, len(signals.customer))
    )
    return logit > 0
