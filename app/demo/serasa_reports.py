"""Serasa query history: a report every 60-120 days, its content driven by the latent risk."""

from __future__ import annotations

import numpy as np
import polars as pl

from app.demo.arrays import CUSTOMER_INDEX, date_series, event_days
from app.demo.population import Population
from app.domain.serasa import PAYMENT_FIELDS, SUPPLIER_FIELDS

# Negative records: (count column, amount column or None, base rate, risk sensitivity).
_NEGATIVES = (
    ("pefin_count", "pefin_amount", 0.030, 1.4),
    ("refin_count", "refin_amount", 0.015, 1.4),
    ("overdue_debts_count", "overdue_debts_amount", 0.020, 1.4),
    ("bankruptcy_count", None, 0.0005, 1.6),
    ("bounced_checks_count", None, 0.015, 1.2),
    ("recheque_count", None, 0.006, 1.2),
    ("bankruptcy_participation_count", None, 0.001, 1.3),
)
_QUERY_GAP_DAYS = (60, 120)
_SCORE_NULL_SHARE = 0.10


def build_serasa_reports(rng: np.random.Generator, population: Population) -> pl.DataFrame:
    """Reports sorted by customer and queried_at, with an internal customer_index column."""
    customer, day = _query_days(rng, population)
    risk = population.risk_at(customer, day) + rng.normal(0.0, 0.25, len(day))
    age_years = (day - population.since[customer]) / 365.0 + rng.gamma(2.0, 2.0, len(day))
    negatives = _negative_records(rng, risk, population.log_size[customer])
    negative_count = np.sum([negatives[name] for name, *_ in _NEGATIVES], axis=0)
    columns = {
        CUSTOMER_INDEX: customer.astype(np.int64),
        "queried_at": date_series("queried_at", day),
        **_shares(rng, PAYMENT_FIELDS, _payment_alphas(risk)),
        "inquiries_count": _inquiries(rng, risk, population.log_size[customer]),
        **_shares(rng, SUPPLIER_FIELDS, _supplier_alphas(risk, age_years)),
        **negatives,
        "score": pl.Series("score", _score(rng, risk, negative_count), nan_to_null=True),
    }
    return pl.DataFrame(columns)


def _query_days(rng: np.random.Generator, population: Population) -> tuple[np.ndarray, np.ndarray]:
    """First query at onboarding (or early in the kept history), then every 60-120 days."""
    timeline = population.timeline
    n = population.size
    onboarding = population.since - rng.integers(0, 11, n)
    early_history = timeline.history_start + rng.integers(0, 120, n)
    first = np.where(population.since >= timeline.history_start, onboarding, early_history)
    max_queries = (timeline.end - timeline.history_start) // _QUERY_GAP_DAYS[0] + 1
    gaps = rng.integers(*_QUERY_GAP_DAYS, size=(n, max_queries), endpoint=True)
    return event_days(first, gaps, timeline.end)


def _inquiries(rng: np.random.Generator, risk: np.ndarray, log_size: np.ndarray) -> np.ndarray:
    """Bigger and riskier companies get queried by more creditors."""
    return rng.poisson(np.exp(0.8 + 0.4 * np.clip(risk, -3, 4) + 0.1 * (log_size - 10)))


def _payment_alphas(risk: np.ndarray) -> np.ndarray:
    """Dirichlet weights: riskier customers shift payments toward the late buckets."""
    scale = np.array([12.0, 2.0, 1.2, 0.6, 0.3, 0.15])
    slope = np.array([-0.6, -0.2, 0.5, 0.8, 1.0, 1.2])
    return scale * np.exp(np.clip(risk, -3, 4)[:, None] * slope)


def _supplier_alphas(risk: np.ndarray, age_years: np.ndarray) -> np.ndarray:
    """Older companies hold longer supplier relationships; risky ones more inactive ones."""
    maturity = np.clip(age_years / 5.0, 0.2, 3.0)[:, None]
    base = np.array([1.0, 1.0, 2.0, 1.5, 1.2, 0.8, 0.0])
    power = np.array([-0.5, -0.3, 0.0, 1.0, 1.5, 2.0, 0.0])
    alphas = base * maturity**power
    alphas[:, -1] = 0.8 * np.exp(0.5 * np.clip(risk, -3, 4))
    return alphas


def _shares(
    rng: np.random.Generator, names: tuple[str, ...], alphas: np.ndarray
) -> dict[str, np.ndarray]:
    """Dirichlet draws as percentages with two decimals that add up to exactly 100.00."""
    draws = rng.gamma(alphas) + 1e-12
    basis_points = _largest_remainder(draws / draws.sum(axis=1, keepdims=True) * 10_000)
    return {name: basis_points[:, i] / 100 for i, name in enumerate(names)}


def _largest_remainder(values: np.ndarray) -> np.ndarray:
    """Round each row to integers keeping the row total (apportionment by largest remainders)."""
    floors = np.floor(values).astype(np.int64)
    missing = np.rint(values.sum(axis=1)).astype(np.int64) - floors.sum(axis=1)
    rank = np.argsort(np.argsort(floors - values, axis=1), axis=1)
    return floors + (rank < missing[:, None])


def _negative_records(
    rng: np.random.Generator, risk: np.ndarray, log_size: np.ndarray
) -> dict[str, np.ndarray]:
    """Mostly zero counts with a risky tail; amounts are zero whenever the count is."""
    records: dict[str, np.ndarray] = {}
    exposure = np.exp(np.clip(risk, -3, 4))
    for count_name, amount_name, rate, sensitivity in _NEGATIVES:
        count = rng.poisson(rate * exposure**sensitivity)
        records[count_name] = count
        if amount_name is not None:
            typical = np.exp(log_size - 2.5 + rng.normal(0.0, 1.0, len(count)))
            records[amount_name] = np.round(count * typical, 2)
    return records


def _score(rng: np.random.Generator, risk: np.ndarray, negative_count: np.ndarray) -> np.ndarray:
    """0-1000, lower for riskier customers and for each negative record; about 10% missing."""
    logit = 1.0 - 0.9 * risk + rng.normal(0.0, 0.35, len(risk))
    penalty = 40 * np.minimum(negative_count, 5)
    score = np.clip(np.rint(1000 / (1 + np.exp(-logit)) - penalty), 0, 1000)
    return np.where(rng.random(len(risk)) < _SCORE_NULL_SHARE, np.nan, score)
