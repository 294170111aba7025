"""Credit limit history: an initial limit at customer_since, then reviews every few months."""

from __future__ import annotations

import numpy as np
import polars as pl

from app.demo.arrays import CUSTOMER_INDEX, date_series, event_days
from app.demo.population import Population

_REVIEW_GAP_DAYS = (90, 270)


def build_credit_limits(rng: np.random.Generator, population: Population) -> pl.DataFrame:
    """Limits sorted by customer and valid_from, with an internal customer_index column.

    Each review resets the limit around the customer's size: up as tenure grows, down as the
    latent risk rises, with a sharp cut for customers in trouble.
    """
    customer, day = _limit_days(rng, population)
    risk = population.risk_at(customer, day)
    tenure_years = (day - population.since[customer]) / 365.0
    log_limit = (
        population.log_size[customer]
        - 0.15
        + 0.03 * np.minimum(tenure_years, 10.0)
        - 0.3 * np.clip(risk, -2.0, 3.0)
        - np.where(risk > 1.6, 0.4, 0.0)
        + rng.normal(0.0, 0.1, len(day))
    )
    limits = pl.DataFrame(
        {
            CUSTOMER_INDEX: customer.astype(np.int64),
            "limit_amount": _round_limit(np.exp(log_limit)),
            "valid_from": date_series("valid_from", day),
        }
    )
    return _drop_unchanged(limits)


def _limit_days(rng: np.random.Generator, population: Population) -> tuple[np.ndarray, np.ndarray]:
    """(customer, day) sorted by customer then day: customer_since, then every 3-9 months."""
    timeline = population.timeline
    n = population.size
    max_reviews = (timeline.end - timeline.history_start) // _REVIEW_GAP_DAYS[0] + 2
    gaps = rng.integers(*_REVIEW_GAP_DAYS, size=(n, max_reviews), endpoint=True)
    first_review_anchor = timeline.history_start - rng.integers(0, 180, n)
    anchor = np.maximum(population.since, first_review_anchor)
    review_customer, review_day = event_days(anchor + gaps[:, 0], gaps[:, 1:], timeline.end)
    customer = np.concatenate([np.arange(n), review_customer])
    day = np.concatenate([population.since, review_day])
    order = np.lexsort((day, customer))
    return customer[order], day[order]


def _drop_unchanged(limits: pl.DataFrame) -> pl.DataFrame:
    """A review that lands on the same rounded amount is no change; keep the earlier row."""
    previous = pl.col("limit_amount").shift(1).over(CUSTOMER_INDEX)
    return limits.filter(previous.is_null() | (previous != pl.col("limit_amount")))


def _round_limit(amount: np.ndarray) -> np.ndarray:
    """Limits are set in round hundreds, at least BRL 500."""
    return np.maximum(np.round(amount / 100.0) * 100.0, 500.0)
