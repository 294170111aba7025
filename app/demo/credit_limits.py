"""Credit limit history: an initial limit at customer_since, then reviews every few months."""

from __future__ import annotations

import numpy as np
import polars as pl

from app.demo.lookup import date_series, event_days
from app.demo.population import Population

CUSTOMER_INDEX = "customer_index"  # internal column, dropped before publishing

_REVIEW_GAP_DAYS = (90, 270)


def build_credit_limits(rng: np.random.Generator, population: Population) -> pl.DataFrame:
    """Limits sorted by customer and valid_from, with an internal customer_index column."""
    customer, day, is_initial = _limit_days(rng, population)
    initial = population.log_size[customer] - 0.25 + rng.normal(0.0, 0.15, len(day))
    risk = population.risk_at(customer, day)
    review = rng.normal(0.06 - 0.15 * risk, 0.15) - np.where(risk > 1.6, 0.35, 0.0)
    frame = pl.DataFrame(
        {
            CUSTOMER_INDEX: customer.astype(np.int64),
            "valid_from": date_series("valid_from", day),
            "log_step": np.where(is_initial, initial, review),
        }
    )
    return frame.select(
        CUSTOMER_INDEX,
        pl.col("log_step").cum_sum().over(CUSTOMER_INDEX).exp().pipe(_round_limit).alias("limit_amount"),
        "valid_from",
    )


def _limit_days(rng: np.random.Generator, population: Population) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer, day, is_initial) sorted by customer then day."""
    timeline = population.timeline
    n = population.size
    max_reviews = (timeline.end - timeline.history_start) // _REVIEW_GAP_DAYS[0] + 2
    gaps = rng.integers(*_REVIEW_GAP_DAYS, size=(n, max_reviews), endpoint=True)
    first_review_anchor = timeline.history_start - rng.integers(0, 180, n)
    anchor = np.maximum(population.since, first_review_anchor)
    review_customer, review_day = event_days(anchor + gaps[:, 0], gaps[:, 1:], timeline.end)
    customer = np.concatenate([np.arange(n), review_customer])
    day = np.concatenate([population.since, review_day])
    is_initial = np.arange(len(day)) < n
    order = np.lexsort((day, customer))
    return customer[order], day[order], is_initial[order]


def _round_limit(amount: pl.Expr) -> pl.Expr:
    """Limits are set in round hundreds, at least BRL 500."""
    return ((amount / 100).round(0) * 100).clip(lower_bound=500.0)
